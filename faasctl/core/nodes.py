"""Nodes: adding (bootstrap), listing with live status, removing."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from ..errors import Conflict, FaasctlError, HostKeyError, NodeUnreachable, NotFound
from ..state.db import transaction
from ..state.models import Deployment, Node
from . import bootstrap
from .context import Context, loads
from .names import check_name, key_values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_dict(node: Node) -> dict[str, Any]:
    data = node.model_dump()
    data["labels"] = loads(node.labels, {})
    data["defaults"] = loads(node.defaults, {})
    return data


def get(ctx: Context, name: str) -> dict[str, Any]:
    with transaction(ctx.engine) as s:
        node = s.get(Node, name)
        if node is None:
            raise NotFound(f"no node named {name!r}", "see `faasctl node list`")
        return node_dict(node)


def all_nodes(ctx: Context) -> list[dict[str, Any]]:
    with transaction(ctx.engine) as s:
        return [node_dict(n) for n in s.exec(select(Node).order_by(Node.name))]


def add_local(ctx: Context, name: str = "local", defaults: dict[str, Any] | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run an agent on this machine, supervised, and register it. Idempotent."""
    check_name(name, "node")
    with transaction(ctx.engine) as s:
        existing = s.get(Node, name)
        if existing is not None and existing.kind != "local":
            raise Conflict(f"node {name!r} exists and is not local", f"remove it first: faasctl node rm {name}")
        prior = node_dict(existing) if existing else None
    home = ctx.settings.nodes_dir / name
    zmq_port = int(prior["zmq_endpoint"].rsplit(":", 1)[1]) if prior else free_port()
    http_port = prior["http_port"] if prior else free_port()
    endpoint = f"tcp://127.0.0.1:{zmq_port}"
    identity = ctx.identity()
    plan = bootstrap.agent_plan(sys.executable, str(home), name, endpoint, http_port, identity["public"],
                                defaults or {})
    connector = ctx.connector({"name": name, "kind": "local"})
    captured = bootstrap.run_plan(connector, plan, progress)
    node = Node(name=name, kind="local", host="127.0.0.1", agent_home=str(home), zmq_endpoint=endpoint,
                http_port=http_port, server_key=captured["server_key"], defaults=json.dumps(defaults or {}))
    hello = ctx.client(node_dict(node), identity).request("hello", timeout=15)
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
    python = sys.executable if node["kind"] == "local" else bootstrap.venv_python(node["agent_home"])
    plan = bootstrap.stop_plan(python, node["agent_home"], purge=not keep)
    try:
        bootstrap.run_plan(ctx.connector(node), plan, progress)
    except (NodeUnreachable, HostKeyError) as exc:
        if not force:
            raise type(exc)(exc.message, f"{exc.hint + '; ' if exc.hint else ''}or forget the node without "
                                         f"stopping its agent: faasctl node rm {name} --force") from exc
        if progress:
            progress(f"not reached ({exc.message}); forgetting it, its agent and containers stay on the host")
    with transaction(ctx.engine) as s:
        for dep in s.exec(select(Deployment).where(Deployment.node_name == name)):
            s.delete(dep)
        row = s.get(Node, name)
        if row is not None:
            s.delete(row)


def parse_labels(items: list[str]) -> dict[str, str]:
    return key_values(items, "label", "--label zone=eu")
