"""`faasctl node sync`: bring nodes back in step with the functions' current versions."""

from __future__ import annotations

import sys
from typing import Any, List

import typer

from .output import emit_json


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)


def sync(names: List[str] = typer.Argument(None, help="Nodes to bring up to date (default: every node)."),
         json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Make each function's current version current on nodes that missed a rollback or a
    deploy while they were down (`node list` says "out of date"). Nodes in step are not
    contacted, so running it again changes nothing."""
    from ..core import nodes, versionsync
    from ..core.context import Context

    ctx = Context()
    for name in names or []:
        nodes.get(ctx, name)  # an unknown name is NotFound, not silently in step
    report(versionsync.converge(ctx, list(names) if names else None), json_out)


def report(data: dict[str, Any], json_out: bool) -> None:
    from ..errors import NodesFailed

    if json_out:
        emit_json(data)
    else:
        for node, done in data["synced"].items():
            print(f"node {node}: now at {', '.join(done)}")
        if not data["synced"] and not data["failed"]:
            print("every node is up to date", file=sys.stderr)
    if data["failed"]:
        raise NodesFailed(f"{', '.join(data['failed'])} could not be brought up to date: "
                          + "; ".join(f"{n}: {e}" for n, e in data["failed"].items()),
                          "check them with `faasctl node status NAME`, then run `faasctl node sync` again")
