"""Nodes reached over SSH: bootstrap (add, re-add, upgrade), logs.

Bootstrap is the same data-driven plan as the local node's, run by the SSH connector,
with three remote-only stages in front: probe the node (python, venv, Docker, disk,
installed build), carry the agent's wheels over if the node's build differs, install
them into HOME/venv. When the node already runs this build, the wheels are neither
built nor sent and the install is skipped, so a re-run costs a few SSH round trips.

The agent's ZeroMQ socket binds ``tcp://BIND:AGENT_PORT`` on the node (0.0.0.0 by
default) and the operator connects straight to it: the socket speaks only CURVE with an
allow-list, so it may face the network (see docs/nodes.md); HTTP health stays on the
node's loopback. ``agent_address`` covers NAT or published container ports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..agentclient import AgentClient
from ..connectors.ssh import SshConnector, SshTarget
from ..connectors.target import KNOWN_HOSTS
from ..errors import Conflict, FaasctlError
from ..state.db import transaction
from ..state.models import Node
from . import bootstrap, bootstrap_ssh, wheels
from .context import Context
from .names import check_name
from .nodes import node_dict
from .nodespec import NodeSpec

Progress = Callable[[str], None]


def bootstrap_node(ctx: Context, spec: NodeSpec, progress: Progress | None = None) -> dict[str, Any]:
    """Bring a node to this faasctl's agent build and register it. Idempotent."""
    check_name(spec.name, "node")
    with transaction(ctx.engine) as s:
        existing = s.get(Node, spec.name)
        if existing is not None and existing.kind != "ssh":
            raise Conflict(f"node {spec.name!r} exists and is a {existing.kind} node",
                           f"remove it first: faasctl node rm {spec.name}")
        recorded = existing is not None
    say = progress or (lambda _step: None)
    spec = replace(spec, known_hosts=ctx.settings.home / KNOWN_HOSTS)
    conn = SshConnector(spec)
    identity = ctx.identity()
    fresh = False  # this try writes the node's first agent.json: a failure takes it away again
    try:
        say("connect")
        conn.connect()
        say("probe node")  # resolves the default home (~ of the login user) on the node
        found = bootstrap_ssh.probe(conn, spec.home or f"~/.faasctl-agent/{spec.name}", identity["public"])
        home = found["home"]
        platform = wheels.NodePlatform.from_probe(found)
        build = wheels.plan(platform)[0]
        if found["build"] != build:
            say(f"wheels for {platform}")
            build, folder = wheels.ensure(ctx.settings.home, platform)
            say("push wheels")
            conn.put_dir(folder, f"{home}/wheels/{build}")
            bootstrap.run_plan(conn, bootstrap_ssh.install_plan(home, build), say)
            found["healthy"] = False
        if found["healthy"] and found["authorized"] and found["server_key"]:
            say("agent running this build")  # nothing to do on the node
            server_key, config = found["server_key"], found["config"]
        else:
            fresh = not recorded and not found["config"]
            # no record and no live agent: an agent.json there is a failed try's, not ours to keep
            stale = not recorded and bool(found["config"]) and not found["healthy"]
            bind = f"tcp://{'127.0.0.1' if spec.tunnel else spec.agent_bind}:{spec.agent_port}"
            captured = bootstrap.run_plan(conn, bootstrap.configure_plan(
                bootstrap.venv_python(home), home, spec.name, bind, spec.http_port, identity["public"],
                spec.defaults, force=stale), say)
            server_key, config = captured["server_key"], conn.run(("cat", f"{home}/agent.json")).stdout
        spec = _adopt_configured_ports(config, spec, say, recorded)
    except FaasctlError:
        if fresh:
            bootstrap.undo_configure(conn, bootstrap.venv_python(home), home)
        raise
    finally:
        conn.close()
    defaults = {**spec.defaults, "_ssh": spec.ssh_settings(build)}
    node = Node(name=spec.name, kind="ssh", host=spec.host, port=spec.port, user=spec.user,
                key_path=spec.key_path, labels=spec.labels, agent_home=home,
                zmq_endpoint=spec.endpoint(), http_port=spec.http_port, server_key=server_key,
                defaults=defaults)
    say("health check over CURVE")
    try:
        hello = _hello(ctx, node, spec, identity)
    except FaasctlError:
        if fresh:  # the agent runs but cannot be reached: leave the node as it was
            _undo_over_ssh(spec, home)
        raise
    node.agent_version = str(hello.get("agent", ""))
    with transaction(ctx.engine) as s:
        prior = s.get(Node, spec.name)
        if prior is not None:
            node.added_at = prior.added_at
        s.merge(node)
    return node_dict(node)


def _hello(ctx: Context, node: Node, spec: NodeSpec, identity: dict[str, str]) -> dict[str, Any]:
    if spec.tunnel:  # through this process's SSH session to the node (kept for later requests)
        return ctx.client(node_dict(node), identity).request("hello", timeout=20, connect_timeout=20)
    client = AgentClient.for_node(node_dict(node), identity)  # one per thread under fan-out
    try:
        return client.request("hello", timeout=20, connect_timeout=20)
    finally:
        client.close()


def _undo_over_ssh(target: SshTarget, home: str) -> None:
    conn = SshConnector(target)
    try:
        conn.connect()
        bootstrap.undo_configure(conn, bootstrap.venv_python(home), home)
    except FaasctlError:
        pass  # best effort: the health check's failure is the one to report
    finally:
        conn.close()


def _adopt_configured_ports(config_text: str, spec: NodeSpec, say: Progress, recorded: bool = True) -> NodeSpec:
    """An existing agent keeps its agent.json (init is idempotent): dial what it binds."""
    try:
        config = json.loads(config_text)
        port = int(str(config["zmq_endpoint"]).rsplit(":", 1)[1])
        http_port = int(config["http_port"])
    except (ValueError, KeyError, IndexError):
        return spec
    if (port, http_port) != (spec.agent_port, spec.http_port):
        change = (f"faasctl node rm {spec.name} to change them" if recorded else
                  "it was running there already, unknown to this faasctl: stop it on the node to change them")
        say(f"agent keeps its configured ports {port}/{http_port} ({change})")
        return replace(spec, agent_port=port, http_port=http_port)
    return spec


def logs(ctx: Context, node: dict[str, Any], lines: int = 100) -> str:
    result = ctx.connector(node).run(("tail", "-n", str(lines), f"{node['agent_home']}/agent.log"))
    return result.stdout or result.stderr
