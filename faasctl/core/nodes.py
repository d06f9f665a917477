"""Nodes: adding (bootstrap), listing with live status, removing."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from ..errors import Conflict, FaasctlError, HostKeyError, NodeSetupFailed, NodeUnreachable, NotFound
from ..state.db import get_or_raise, transaction
from ..state.models import Deployment, Node, NodeDrain, NodeOperators
from . import bootstrap
from .context import Context
from .names import check_name, key_values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_dict(node: Node) -> dict[str, Any]:
    return node.model_dump()


def get(ctx: Context, name: str) -> dict[str, Any]:
    with transaction(ctx.engine) as s:
        return node_dict(get_or_raise(s, Node, name, NotFound(f"no node named {name!r}", "see `faasctl node list`")))


def all_nodes(ctx: Context) -> list[dict[str, Any]]:
    with transaction(ctx.engine) as s:
        return [node_dict(n) for n in s.exec(select(Node).order_by(Node.name))]


def add_local(ctx: Context, name: str = "local", defaults: dict[str, Any] | None = None,
              progress: Callable[[str], None] | None = None, agent_port: int | None = None,
              http_port: int | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Run an agent on this machine, supervised, and register it. Idempotent.

    Ports not given are free ones (or the node's own, when it exists); other ports than
    an existing node's are refused, since its agent keeps the ports it was made with.
    """
    check_name(name, "node")
    with transaction(ctx.engine) as s:
        existing = s.get(Node, name)
        if existing is not None and existing.kind != "local":
            raise Conflict(f"node {name!r} exists and is not local", f"remove it first: faasctl node rm {name}")
        prior = node_dict(existing) if existing else None
    home = ctx.settings.nodes_dir / name
    if prior:
        ports = (int(prior["zmq_endpoint"].rsplit(":", 1)[1]), int(prior["http_port"]))
        if (agent_port or ports[0], http_port or ports[1]) != ports:
            raise Conflict(f"node {name} runs its agent on ports {ports[0]}/{ports[1]} (agent/http)",
                           f"to change them: faasctl node rm {name}, then add it again with the new ports")
    else:
        ports = (agent_port or free_port(), http_port or free_port())
    endpoint = f"tcp://127.0.0.1:{ports[0]}"
    identity = ctx.identity()
    # Without a record, an agent.json in our own nodes folder is a failed try's: rewrite it.
    plan = bootstrap.agent_plan(sys.executable, str(home), name, endpoint, ports[1], identity["public"],
                                defaults or {}, force=prior is None)
    connector = ctx.connector({"name": name, "kind": "local"})
    node = Node(name=name, kind="local", host="127.0.0.1", agent_home=str(home), zmq_endpoint=endpoint,
                http_port=ports[1], defaults=defaults or {},
                labels=labels if labels is not None else (prior or {}).get("labels", {}))
    try:
        node.server_key = bootstrap.run_plan(connector, plan, progress)["server_key"]
        hello = ctx.client(node_dict(node), identity).request("hello", timeout=15)
    except FaasctlError:
        if prior is None:
            bootstrap.undo_configure(connector, sys.executable, str(home))
        raise
    node.agent_version = str(hello.get("agent", ""))
    with transaction(ctx.engine) as s:
        s.merge(node)
    return node_dict(node)


def status(ctx: Context, node: dict[str, Any], timeout: float = 2.0) -> dict[str, Any]:
    """Live view of one node; an unreachable node is reported, not raised."""
    try:
        data = ctx.client(node).request("status", timeout=timeout)
        return {"name": node["name"], "up": True, **data}
    except FaasctlError as exc:
        return {"name": node["name"], "up": False, "error": exc.message}


def remove(ctx: Context, name: str, keep: bool = False,
           progress: Callable[[str], None] | None = None, force: bool = False) -> None:
    """Stop the agent (it removes its containers) and forget the node.

    With `force`, a node that cannot be reached (or whose host key changed) is forgotten
    anyway; whatever runs on it stays there, which the progress line says.
    """
    node = get(ctx, name)
    connector = ctx.connector(node)
    plan = bootstrap.stop_plan(connector.agent_python(node["agent_home"]), node["agent_home"], purge=not keep)
    try:
        bootstrap.run_plan(connector, plan, progress)
    except (NodeUnreachable, NodeSetupFailed, HostKeyError) as exc:
        if not force:
            raise type(exc)(exc.message, f"{exc.hint + '; ' if exc.hint else ''}or forget the node without "
                                         f"stopping its agent: faasctl node rm {name} --force") from exc
        if progress:
            progress(f"not stopped ({exc.message}); forgetting it, its agent and containers stay on the host")
    with transaction(ctx.engine) as s:
        for dep in s.exec(select(Deployment).where(Deployment.node_name == name)):
            s.delete(dep)
        for kept in (s.get(NodeDrain, name), s.get(NodeOperators, name)):  # a node added again under
            if kept is not None:  # this name starts in service, and is sent the operators' set anew
                s.delete(kept)
        row = s.get(Node, name)
        if row is not None:
            s.delete(row)


def parse_labels(items: list[str]) -> dict[str, str]:
    return key_values(items, "label", "--label zone=eu")
