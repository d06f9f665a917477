"""`faasctl node`: the machines that run functions."""

from __future__ import annotations

import sys
from typing import Any, List

import typer

from ..core.policy import SPECS
from . import nodesync
from .output import emit_json, progress, table

app = typer.Typer(help="Add, list and remove nodes (machines that run functions).", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Node name; `local` runs an agent on this machine without SSH."),
    host: str = typer.Option(None, "--host", help="[USER@]HOST[:PORT] of a server reached over SSH."),
    key: str = typer.Option("", "--key", help="SSH private key (default: your ssh agent and ~/.ssh keys)."),
    label: List[str] = typer.Option([], "--label", help="KEY=VALUE label for placement; repeatable."),
    preload: str = typer.Option(None, help="This node's default. " + SPECS["preload"].describe(),
                                show_default=False),
    stem_cells: int = typer.Option(None, help=SPECS["stem_cells"].describe() + " A runtime's own --stem-cells wins.",
                                   show_default=False),
    agent_port: int = typer.Option(None, min=1, max=65535, show_default=False,
                                   help="Port the agent's CURVE socket binds on the node "
                                   "[default: 7701; local: a free port]."),
    agent_bind: str = typer.Option(None, show_default=False,
                                   help="Address the agent's CURVE socket binds on the node [default: 0.0.0.0]."),
    agent_address: str = typer.Option("", help="HOST[:PORT] to dial the agent at, if not HOST:AGENT_PORT."),
    http_port: int = typer.Option(None, min=1, max=65535, show_default=False,
                                  help="Agent health port, node loopback only [default: 7702; local: a free port]."),
    home: str = typer.Option("", help="Agent home on the node (default ~/.faasctl-agent/NAME)."),
    sudo: bool = typer.Option(False, "--sudo", help="Run node commands with `sudo -n`."),
    tunnel: bool = typer.Option(False, "--tunnel", help="Reach the agent through SSH (its port stays closed: "
                                "it binds the node's loopback only)."),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key",
                                             help="Trust the host key of a host seen for the first time."),
    host_key_fingerprint: str = typer.Option("", "--host-key-fingerprint",
                                             help="Trust a new host only if its key has this SHA256:... fingerprint."),
    json_out: bool = typer.Option(False, "--json", help="Print the node as JSON."),
) -> None:
    """Bootstrap an agent and register the node. Running it again repairs or confirms it."""
    from ..core import nodes
    from ..core.context import Context
    from ..core.policy import check as check_policy
    from ..errors import InvalidInput

    ctx = Context()
    defaults = check_policy({"preload": preload, "stem_cells": stem_cells})
    if host is None:
        if name != "local":
            raise InvalidInput(f"node {name!r} needs --host [USER@]HOST[:PORT]",
                               "only the node named `local` runs without SSH")
        ssh_only = {"--key": key, "--agent-bind": agent_bind, "--agent-address": agent_address, "--home": home,
                    "--sudo": sudo, "--tunnel": tunnel, "--accept-new-host-key": accept_new_host_key,
                    "--host-key-fingerprint": host_key_fingerprint}
        given = [flag for flag, value in ssh_only.items() if value not in (None, "", False)]
        if given:
            raise InvalidInput(f"{', '.join(given)} applies only to nodes reached over SSH (--host)",
                               "drop it for the local node, or add an SSH node: faasctl node add NAME --host ...")
        node = nodes.add_local(ctx, name, defaults, progress(name), agent_port=agent_port, http_port=http_port,
                               labels=nodes.parse_labels(label) if label else None)
    else:
        from ..core.nodes_ssh import bootstrap_node
        from ..core.nodespec import NodeSpec

        entry = {"host": host, "key": key, "labels": nodes.parse_labels(label), "policy": defaults,
                 "agent_port": agent_port, "agent_bind": agent_bind, "agent_address": agent_address,
                 "http_port": http_port, "home": home, "sudo": sudo, "tunnel": tunnel,
                 "host_key_fingerprint": host_key_fingerprint, "accept_new_host_key": accept_new_host_key}
        spec = NodeSpec.parse(name, {k: v for k, v in entry.items() if v is not None})
        node = bootstrap_node(ctx, spec, progress(name))
    nodesync.catch_up(ctx, [node["name"]])
    if json_out:
        emit_json(node)
    else:
        print(f"node {node['name']} ready: agent {node['agent_version']} at {node['zmq_endpoint']}")


nodesync.register(app)  # import, upgrade, sync: listed right after add


@app.command("logs")
def logs(name: str, lines: int = typer.Option(100, "--lines", "-n", help="How many lines from the end.")) -> None:
    """The end of a node's agent log (read over SSH for remote nodes)."""
    from ..core import nodes
    from ..core.context import Context
    from ..core.nodes_ssh import logs as read_logs

    ctx = Context()
    sys.stdout.write(read_logs(ctx, nodes.get(ctx, name), lines))


@app.command("forget-host-key")
def forget_host_key(name: str) -> None:
    """Drop a node's SSH host key from faasctl's known hosts (after a verified reinstall)."""
    from ..connectors import hostkeys
    from ..connectors.target import KNOWN_HOSTS
    from ..core import nodes
    from ..core.context import Context

    ctx = Context()
    node = nodes.get(ctx, name)
    entry = hostkeys.host_entry(node["host"], node["port"])
    removed = hostkeys.forget(ctx.settings.home / KNOWN_HOSTS, entry)
    print(f"{entry}: {'forgotten' if removed else 'was not known'}; the next contact needs "
          "--accept-new-host-key or --host-key-fingerprint (faasctl node add NAME --host ...)")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Nodes with their live state: reachable, agent version, running calls, warm containers.

    A node marked down (suspect) is not asked until its next probe is due; its row says
    since when it is down, the last error and when it is probed next. A drained node
    (`faasctl node drain`) says so: it gets no new calls."""
    from ..core import health, nodestatus
    from ..core.context import Context

    entries = nodestatus.gather(Context())
    if json_out:
        emit_json([{**e["node"], "status": e["status"], "health": health.view(e["health"]),
                    "drained": e["drained_since"] is not None, "drained_since": e["drained_since"],
                    "out_of_date": e["out_of_date"]} for e in entries])
        return
    table(["name", "kind", "host", "state", "agent", "running", "warm", "endpoint"],
          [[n["name"], n["kind"], n["host"] + (f":{n['port']}" if n["kind"] == "ssh" else ""), _state(e),
            st.get("agent", ""), st.get("running", ""), sum(st.get("warm", {}).values()) if st["up"] else "",
            n["zmq_endpoint"]] for e in entries for n, st in [(e["node"], e["status"])]],
          empty="no nodes yet; add one with: faasctl node add local")
    for e in entries:
        if e["health"]:
            print(f"{e['node']['name']}: {e['health']['last_error']}", file=sys.stderr)
        if e["out_of_date"]:
            print(f"{e['node']['name']}: out of date: " + ", ".join(
                f"{o['function']} at version {o['has']}, current {o['wants']}" for o in e["out_of_date"])
                + f"; run `faasctl node sync {e['node']['name']}` once it answers", file=sys.stderr)


def _state(entry: dict[str, Any]) -> str:
    from ..core import health

    suspect = entry["health"]
    state = health.describe(suspect) if suspect else "up" if entry["status"]["up"] else "DOWN"
    state += ", out of date" if entry["out_of_date"] else ""
    return f"{state}, drained" if entry["drained_since"] is not None else state


@app.command("status")
def status(name: str, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One node's live status, including warm containers per function. It is asked at once,
    even if marked down; if it answers, the mark is cleared."""
    from ..core import health, nodestatus
    from ..core.context import Context
    from ..errors import NodeUnreachable

    entry = nodestatus.one(Context(), name)
    st, row, drained = entry["status"], entry["health"], entry["drained_since"] is not None
    if json_out:
        emit_json({**st, "health": health.view(row), "drained": drained, "drained_since": entry["drained_since"]})
    elif not st["up"]:
        raise NodeUnreachable(health.down_message(name, row) if row else f"node {name} is down: {st['error']}",
                              "check the agent log on the node: "
                              f"faasctl node logs {name}; it is skipped by placement until it answers again")
    else:
        drain_note = ", drained (no new calls)" if drained else ""
        print(f"node {name}: up{drain_note}, agent {st['agent']}, {st['running']} running, "
              f"uptime {st['uptime_s']} s")
        table(["function", "warm", "containers"], [[f, st["warm"].get(f, 0), c] for f, c in st["containers"].items()])


@app.command("drain")
def drain(name: str) -> None:
    """Give a node no new calls (placement skips it, `invoke --node` refuses it); its running
    calls finish. Draining a drained node changes nothing. Undo with `faasctl node undrain`."""
    from ..core import nodestatus
    from ..core.context import Context

    changed = nodestatus.set_drained(Context(), name, True)
    print(f"node {name} {'drained' if changed else 'was drained already'}: it gets no new calls")


@app.command("undrain")
def undrain(name: str) -> None:
    """Put a drained node back in service: placement uses it again. A node in service stays so."""
    from ..core import nodestatus
    from ..core.context import Context

    changed = nodestatus.set_drained(Context(), name, False)
    print(f"node {name} {'back in service' if changed else 'was in service already'}")


@app.command("rm")
def rm(
    names: List[str] = typer.Argument(..., help="Node names."),
    keep: bool = typer.Option(False, "--keep", help="Keep the agent's files and volumes on the node."),
    force: bool = typer.Option(False, "--force", help="Forget a node that cannot be reached (nothing is stopped)."),
) -> None:
    """Stop the agent, remove its containers (and unless --keep, its volumes and files)."""
    from ..core import nodes
    from ..core.context import Context

    ctx = Context()
    for name in names:
        nodes.remove(ctx, name, keep=keep, progress=progress(name), force=force)
        print(f"node {name} removed")

