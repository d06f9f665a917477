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
from dataclasses import dataclass, field
from typing import Any

from ..agentclient import AgentClient
from ..connectors.ssh import SshConnector, SshTarget
from ..errors import Conflict, FaasctlError
from ..state.db import transaction
from ..state.models import Node
from . import bootstrap, bootstrap_ssh, wheels
from .context import Context
from .names import check_name
from .nodes import node_dict

Progress = Callable[[str], None]


@dataclass
class SshNodeSpec:
    """Everything `node add --host` and one inventory entry can say about a node."""

    name: str
    host: str
    port: int = 22
    user: str = ""
    key_path: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # preload and limits for the agent
    agent_port: int = 7701
    agent_bind: str = "0.0.0.0"
    agent_address: str = ""  # host[:port] the operator dials, when not host:agent_port
    http_port: int = 7702
    home: str = ""  # default: $HOME/.faasctl-agent/NAME on the node
    sudo: bool = False
    host_key_fingerprint: str = ""
    accept_new_host_key: bool = False
    tunnel: bool = False  # reach the agent through SSH; it then binds the node's loopback only

    def endpoint(self) -> str:
        if self.tunnel:  # the address on the node the tunnel leads to
            return f"tcp://127.0.0.1:{self.agent_port}"
        address = self.agent_address or self.host
        if ":" not in address:
            address = f"{address}:{self.agent_port}"
        return f"tcp://{address}"


def parse_host(text: str) -> tuple[str, str, int | None]:
    """[USER@]HOST[:PORT] -> (user, host, port or None)."""
    user, _, rest = text.rpartition("@")
    host, sep, port = rest.partition(":")
    if sep and not port.isdigit():
        from ..errors import InvalidInput

        raise InvalidInput(f"{text!r} is not [USER@]HOST[:PORT]", "write it like root@10.0.0.5:22")
    return user, host, int(port) if sep else None


def target_for(ctx: Context, node: dict[str, Any], pinned: str = "", accept_new: bool = False) -> SshTarget:
    defaults = node.get("defaults") or {}
    ssh = (json.loads(defaults) if isinstance(defaults, str) else defaults).get("_ssh", {})
    return SshTarget(name=node["name"], host=node["host"], port=node["port"], user=node["user"],
                     key_path=node["key_path"], known_hosts=ctx.settings.home / "known_hosts",
                     pinned_fingerprint=pinned, accept_new=accept_new, sudo=bool(ssh.get("sudo")))


def spec_of(node: dict[str, Any]) -> SshNodeSpec:
    """Rebuild a spec from the state, for `node upgrade` and repairs."""
    ssh = dict(node["defaults"].get("_ssh", {}))
    return SshNodeSpec(name=node["name"], host=node["host"], port=node["port"], user=node["user"],
                       key_path=node["key_path"], labels=node["labels"],
                       defaults={k: v for k, v in node["defaults"].items() if k != "_ssh"},
                       agent_port=int(ssh.get("agent_port", 7701)), agent_bind=ssh.get("agent_bind", "0.0.0.0"),
                       agent_address="" if ssh.get("tunnel") else node["zmq_endpoint"].removeprefix("tcp://"),
                       http_port=node["http_port"], home=node["agent_home"], sudo=bool(ssh.get("sudo")),
                       tunnel=bool(ssh.get("tunnel")))


def bootstrap_node(ctx: Context, spec: SshNodeSpec, progress: Progress | None = None) -> dict[str, Any]:
    """Bring a node to this faasctl's agent build and register it. Idempotent."""
    check_name(spec.name, "node")
    with transaction(ctx.engine) as s:
        existing = s.get(Node, spec.name)
        if existing is not None and existing.kind != "ssh":
            raise Conflict(f"node {spec.name!r} exists and is a {existing.kind} node",
                           f"remove it first: faasctl node rm {spec.name}")
        recorded = existing is not None
    say = progress or (lambda _step: None)
    node_shape = {"name": spec.name, "host": spec.host, "port": spec.port, "user": spec.user,
                  "key_path": spec.key_path, "defaults": {"_ssh": {"sudo": spec.sudo}}}
    target = target_for(ctx, node_shape, spec.host_key_fingerprint, spec.accept_new_host_key)
    conn = SshConnector(target)
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
        _adopt_configured_ports(config, spec, say, recorded)
    except FaasctlError:
        if fresh:
            bootstrap.undo_configure(conn, bootstrap.venv_python(home), home)
        raise
    finally:
        conn.close()
    defaults = {**spec.defaults, "_ssh": {"sudo": spec.sudo, "agent_port": spec.agent_port,
                                          "agent_bind": spec.agent_bind, "build": build, "tunnel": spec.tunnel}}
    node = Node(name=spec.name, kind="ssh", host=spec.host, port=spec.port, user=spec.user,
                key_path=spec.key_path, labels=json.dumps(spec.labels), agent_home=home,
                zmq_endpoint=spec.endpoint(), http_port=spec.http_port, server_key=server_key,
                defaults=json.dumps(defaults))
    say("health check over CURVE")
    try:
        hello = _hello(ctx, node, spec, identity)
    except FaasctlError:
        if fresh:  # the agent runs but cannot be reached: leave the node as it was
            _undo_over_ssh(target, home)
        raise
    node.agent_version = str(hello.get("agent", ""))
    with transaction(ctx.engine) as s:
        prior = s.get(Node, spec.name)
        if prior is not None:
            node.added_at = prior.added_at
        s.merge(node)
    return node_dict(node)


def _hello(ctx: Context, node: Node, spec: SshNodeSpec, identity: dict[str, str]) -> dict[str, Any]:
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


def _adopt_configured_ports(config_text: str, spec: SshNodeSpec, say: Progress, recorded: bool = True) -> None:
    """An existing agent keeps its agent.json (init is idempotent): dial what it binds."""
    try:
        config = json.loads(config_text)
        port = int(str(config["zmq_endpoint"]).rsplit(":", 1)[1])
        http_port = int(config["http_port"])
    except (ValueError, KeyError, IndexError):
        return
    if (port, http_port) != (spec.agent_port, spec.http_port):
        change = (f"faasctl node rm {spec.name} to change them" if recorded else
                  "it was running there already, unknown to this faasctl: stop it on the node to change them")
        say(f"agent keeps its configured ports {port}/{http_port} ({change})")
        spec.agent_port, spec.http_port = port, http_port


def logs(ctx: Context, node: dict[str, Any], lines: int = 100) -> str:
    result = ctx.connector(node).run(("tail", "-n", str(lines), f"{node['agent_home']}/agent.log"))
    return result.stdout or result.stderr
