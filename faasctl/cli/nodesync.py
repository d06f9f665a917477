"""`faasctl node import | upgrade | sync`: bringing many nodes in step at once.

Import and upgrade bootstrap agents on many nodes in parallel; sync (and both of them,
once their agents run) give nodes the functions' current versions they missed while
they were down (core/versionsync.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List

import typer

from .output import emit_json, table


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("upgrade")(upgrade)
    app.command("sync")(sync)


def catch_up(ctx: Any, names: list[str]) -> None:
    """A node repaired or upgraded gets the versions it missed while down (a rollback)."""
    from ..core import versionsync

    synced = versionsync.converge(ctx, names)
    for node, done in synced["synced"].items():
        print(f"  {node}: brought up to date: {', '.join(done)}", file=sys.stderr)
    for node, error in synced["failed"].items():
        print(f"  {node}: still out of date ({error}); retry with: faasctl node sync {node}", file=sys.stderr)


def import_(
    inventory: Path = typer.Argument(..., help="TOML inventory (see inventory.example.toml)."),
    parallel: int = typer.Option(10, "--parallel", "-j", min=1, max=200, help="Nodes bootstrapped at once."),
    json_out: bool = typer.Option(False, "--json", help="Print each node's outcome as JSON."),
) -> None:
    """Bootstrap every node of an inventory in parallel; exits non-zero if any failed."""
    from ..core import inventory as inv
    from ..core.context import Context
    from ..core.nodes_ssh import bootstrap_node

    ctx = Context()
    specs = inv.load(inventory)
    _fan_out(ctx, specs, lambda spec, say: bootstrap_node(ctx, spec, say), parallel, json_out)
    catch_up(ctx, [str(s.name) for s in specs])


def upgrade(
    names: List[str] = typer.Argument(None, help="Nodes to upgrade (default: every SSH node)."),
    parallel: int = typer.Option(10, "--parallel", "-j", min=1, max=200, help="Nodes upgraded at once."),
    json_out: bool = typer.Option(False, "--json", help="Print each node's outcome as JSON."),
) -> None:
    """Install this faasctl's agent build on nodes, in place (a no-op where it runs already)."""
    from ..core import nodes
    from ..core.context import Context
    from ..core.nodes_ssh import bootstrap_node
    from ..core.nodespec import NodeSpec

    ctx = Context()
    chosen = [nodes.get(ctx, n) for n in names] if names else nodes.all_nodes(ctx)
    specs = [NodeSpec.from_row(n) for n in chosen if n["kind"] == "ssh"]
    if not specs:
        print("no SSH nodes to upgrade (the local node runs this faasctl's agent already)", file=sys.stderr)
        return
    _fan_out(ctx, specs, lambda spec, say: bootstrap_node(ctx, spec, say), parallel, json_out)
    catch_up(ctx, [str(s.name) for s in specs])


def _fan_out(ctx: Any, specs: list[Any], work: Any, parallel: int, json_out: bool) -> None:
    from ..core import fanout
    from ..errors import NodesFailed
    from .progress import reporter

    ctx.engine, ctx.identity()  # made once here, not raced by the threads
    # a first bootstrap reports 10 steps (connect, probe, wheels, push, install, configure,
    # keys, authorise, start, health check); a re-run reports fewer and its bar completes
    outcomes = fanout.run(specs, lambda spec: str(spec.name), work, parallel, total=10, reporter=reporter())
    if json_out:
        emit_json([{"name": o.name, "ok": o.ok, "error": o.error, "hint": o.hint, "seconds": round(o.seconds, 2),
                    "agent": (o.value or {}).get("agent_version", "")} for o in outcomes])
    else:
        table(["node", "result", "seconds", "detail"],
              [[o.name, "ok" if o.ok else "FAILED", f"{o.seconds:.1f}",
                o.value["agent_version"] if o.ok else o.error + (f" (hint: {o.hint})" if o.hint else "")]
               for o in outcomes])
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        raise NodesFailed(f"{len(failed)} of {len(outcomes)} node(s) failed: {', '.join(failed)}",
                          "fix what each line says and run the same command again (it is idempotent)")


def sync(names: List[str] = typer.Argument(None, help="Nodes to bring up to date (default: every node)."),
         json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Make each function's current version current on nodes that missed a rollback or a
    deploy while they were down (`node list` says "out of date"), and give them the current
    set of operators' keys (`faasctl operator`) if they missed a change. Nodes in step are
    not contacted, so running it again changes nothing."""
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
