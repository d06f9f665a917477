"""`faasctl fn`: deploy, list and remove functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import typer

from .output import emit_json, ms, table

app = typer.Typer(help="Deploy, list and remove functions.", no_args_is_help=True)


@app.command("deploy")
def deploy(
    name: str = typer.Argument(..., help="Function name."),
    source: Path = typer.Argument(..., help="Folder, .zip or .tar.gz with the code (and requirements.txt)."),
    runtime: str = typer.Option(..., "--runtime", "-r", help="Runtime to run it in."),
    handler: str = typer.Option("", help="Handler mode: MODULE:FUNCTION called per call in a warm process."),
    preload: str = typer.Option(None, help="none (fresh container per call), runtime (first call takes a started "
                                "stem cell of the runtime) or function (containers kept warm; the default)."),
    min_warm: int = typer.Option(None, help="Containers kept warm even with no traffic (preload function)."),
    max_concurrency: int = typer.Option(None, help="Most containers this function may use per node."),
    queue_limit: int = typer.Option(None, help="Calls that may wait for a container before 'busy'."),
    idle_timeout: float = typer.Option(None, help="Seconds an idle warm container is kept (default 300)."),
    timeout: float = typer.Option(None, help="Seconds a call may run before it ends as TIMEOUT (default 30)."),
    memory: int = typer.Option(None, help="Memory limit per container in MiB (swap off)."),
    cpus: float = typer.Option(None, help="CPU limit per container."),
    pids: int = typer.Option(None, help="Process limit per container."),
    network: bool = typer.Option(None, "--network/--no-network", help="Give the function a network (off by default)."),
    placement: str = typer.Option("", help="round-robin, random, least-loaded, warm-first or pinned."),
    pin: List[str] = typer.Option(None, "--pin", help="Node name or KEY=VALUE label to place on (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print the function as JSON."),
) -> None:
    """Check the archive, push it to the nodes, install its requirements, make it callable.

    Deploying the same code again changes nothing and sends nothing.
    """
    from ..core import fanout, functions
    from ..core.context import Context
    from .progress import reporter

    policy = {"preload": preload, "min_warm": min_warm, "max_concurrency": max_concurrency,
              "queue_limit": queue_limit, "idle_timeout": idle_timeout, "timeout": timeout, "memory_mb": memory,
              "cpus": cpus, "pids": pids, "network": network}
    print(f"  deploying {name} from {source}...", file=sys.stderr, flush=True)
    with fanout.reporting(reporter()):  # a deploy to several nodes reports each node
        data = functions.deploy(Context(), name, source, runtime, handler=handler, policy=policy,
                                placement_policy=placement, pinned=list(pin) if pin else None)
    if json_out:
        emit_json(data)
        return
    state = "deployed" if data["changed"] else "unchanged"
    deps = ", ".join(f"{n}: deps {r['dependencies']}" for n, r in data["nodes"].items())
    print(f"function {name} {state}: version {data['version']} ({data['digest'][:12]}) on {deps}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Functions with their policy, nodes, calls, errors and latency."""
    from ..core import functions
    from ..core.context import Context

    rows = functions.all_functions(Context(), live=True)
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
