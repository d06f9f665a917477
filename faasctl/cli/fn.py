"""`faasctl fn`: deploy, list and remove functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from ..core.policy import Spec, with_options
from .output import emit_json, ms, table

app = typer.Typer(help="Deploy, list and remove functions.", no_args_is_help=True)


def _option(spec: Spec) -> tuple[Any, Any]:
    """A typer option for one policy field: its flag, help, bounds and default from the model."""
    if spec.kind is bool:
        return Optional[bool], typer.Option(None, f"{spec.option}/--no-{spec.option[2:]}", help=spec.describe())
    if spec.kind is list:
        return Optional[List[str]], typer.Option(None, spec.option, help=spec.describe())
    kind = str if spec.choices else spec.kind
    return Optional[kind], typer.Option(None, spec.option, help=spec.describe(), show_default=False)


@app.command("deploy")
@with_options(_option)
def deploy(
    name: str = typer.Argument(..., help="Function name."),
    source: Path = typer.Argument(..., help="Folder, .zip or .tar.gz with the code (and requirements.txt)."),
    runtime: str = typer.Option(..., "--runtime", "-r", help="Runtime to run it in."),
    handler: str = typer.Option("", help="Handler mode: MODULE:FUNCTION called per call in a warm process."),
    kind: str = typer.Option("", help="Calling contract: native (handle(params), the default with --handler), "
                             "command (the runtime's run command, the default without) or lambda (Node.js: "
                             "exports.handler = async (event, context), --handler index.handler)."),
    json_out: bool = typer.Option(False, "--json", help="Print the function as JSON."),
    policy: dict[str, Any] | None = None,
) -> None:
    """Check the archive, push it to the nodes, install its requirements, make it callable.

    Deploying the same code again changes nothing and sends nothing.
    """
    from ..core import fanout, functions
    from ..core.context import Context
    from .progress import reporter

    policy = dict(policy or {})
    if not policy.get("pin"):  # typer gives an empty list for no --pin: keep the pins, as before
        policy.pop("pin", None)
    print(f"  deploying {name} from {source}...", file=sys.stderr, flush=True)
    with fanout.reporting(reporter()):  # a deploy to several nodes reports each node
        data = functions.deploy(Context(), name, source, runtime, handler=handler, kind=kind, policy=policy)
    if json_out:
        emit_json(data)
        return
    state = "deployed" if data["changed"] else "unchanged"
    deps = ", ".join(f"{n}: deps {r['dependencies']}" for n, r in data["nodes"].items())
    print(f"function {name} {state}: version {data['version']} ({data['digest'][:12]}) on {deps}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Functions with their policy, nodes, calls, errors and latency."""
    from ..core import listing  # plain sqlite3: no ORM import for a listing
    from ..core.context import Context

    rows = listing.all_functions(Context(), live=True)
    if json_out:
        emit_json(rows)
        return
    table(["name", "runtime", "ver", "mode", "preload", "placement", "warm per node", "calls", "errors", "p50 ms",
           "p99 ms"],
          [[r["name"], r["runtime_name"], r["version"], r["mode"], r["policy"].get("preload", "default"),
            r["placement"], ",".join(f"{n}:{w}" for n, w in r["warm"].items()), r["calls"], r["errors"],
            ms(r["p50_ms"]), ms(r["p99_ms"])] for r in rows],
          empty="no functions yet; deploy one with: faasctl fn deploy NAME PATH --runtime R")


@app.command("rm")
def rm(name: str) -> None:
    """Remove a function from every node and from the state (its calls are kept)."""
    from ..core import functions
    from ..core.context import Context

    functions.remove(Context(), name)
    print(f"function {name} removed")
