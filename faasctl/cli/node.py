"""`faasctl node`: the machines that run functions."""

from __future__ import annotations

from typing import List

import typer

from .output import emit_json, progress, table

app = typer.Typer(help="Add, list and remove nodes (machines that run functions).", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Node name; `local` runs an agent on this machine without SSH."),
    preload: str = typer.Option(None, help="Default preload policy on this node: none, runtime or function."),
    json_out: bool = typer.Option(False, "--json", help="Print the node as JSON."),
) -> None:
    """Bootstrap an agent and register the node. Running it again repairs or confirms it."""
    from ..core import nodes
    from ..core.context import Context
    from ..errors import InvalidInput

    if name != "local":
        raise InvalidInput(f"cannot add {name!r} yet: only the local node is supported in this version",
                           "use `faasctl node add local`")
    ctx = Context()
    defaults = {"preload": preload} if preload else {}
    node = nodes.add_local(ctx, name, defaults, progress(name))
    if json_out:
        emit_json(node)
    else:
        print(f"node {node['name']} ready: agent {node['agent_version']} at {node['zmq_endpoint']}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Nodes with their live state: reachable, agent version, running calls, warm containers."""
    from ..core import nodes
    from ..core.context import Context

    ctx = Context()
    rows = [{**n, "status": nodes.status(ctx, n)} for n in nodes.all_nodes(ctx)]
    if json_out:
        emit_json(rows)
        return
    table(["name", "kind", "state", "agent", "running", "warm", "endpoint"],
          [[r["name"], r["kind"], "up" if r["status"]["up"] else "DOWN", r["status"].get("agent", ""),
            r["status"].get("running", ""), sum(r["status"].get("warm", {}).values()) if r["status"]["up"] else "",
            r["zmq_endpoint"]] for r in rows],
          empty="no nodes yet; add one with: faasctl node add local")


@app.command("status")
def status(name: str, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One node's live status, including warm containers per function."""
    from ..core import nodes
    from ..core.context import Context
    from ..errors import NodeUnreachable

    ctx = Context()
    st = nodes.status(ctx, nodes.get(ctx, name))
    if json_out:
        emit_json(st)
    elif not st["up"]:
        raise NodeUnreachable(f"node {name} is down: {st['error']}", "check the agent log on the node")
    else:
        print(f"node {name}: up, agent {st['agent']}, {st['running']} running, uptime {st['uptime_s']} s")
        table(["function", "warm", "containers"], [[f, st["warm"].get(f, 0), c] for f, c in st["containers"].items()])


@app.command("rm")
def rm(
    names: List[str] = typer.Argument(..., help="Node names."),
    keep: bool = typer.Option(False, "--keep", help="Keep the agent's files and volumes on the node."),
) -> None:
    """Stop the agent, remove its containers (and unless --keep, its volumes and files)."""
    from ..core import nodes
    from ..core.context import Context

    ctx = Context()
    for name in names:
        nodes.remove(ctx, name, keep=keep, progress=progress(name))
        print(f"node {name} removed")
