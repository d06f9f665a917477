"""A node over real SSH (loopback sshd), end to end through the CLI: add (bootstrap from
wheels carried over), deploy, invoke on it, re-add as a no-op, refuse a stranger's CURVE
key, remove. Real sshd, real rsync, real Docker: nothing here is mocked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import zmq

from faasctl.agentclient import AgentClient
from faasctl.errors import NotAuthorised
from tests.support.operator import add_args, node_name, operator
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration


def test_ssh_node_bootstrap_deploy_invoke_noop_and_remove(sshd: SshServer, tmp_path: Path, docker: object) -> None:
    op = operator(tmp_path)
    name = node_name()
    agent_home = tmp_path / "agent-home"
    args = add_args(sshd, name, agent_home, "--accept-new-host-key", "--label", "zone=test")
    try:
        first = op.cli(*args)
        assert f"node {name} ready" in first.stdout
        assert "push wheels" in first.stderr and "install agent" in first.stderr
        assert (agent_home / "venv" / "bin" / "python").exists()  # the agent lives in its own venv
        pid = (agent_home / "agent.pid").read_text()

        nodes = json.loads(op.cli("node", "list", "--json").stdout)
        assert [(n["name"], n["kind"], n["status"]["up"]) for n in nodes] == [(name, "ssh", True)]
        assert nodes[0]["labels"] == {"zone": "test"} and nodes[0]["agent_version"]
        listed = op.cli("node", "list").stdout
        assert name in listed and f"127.0.0.1:{sshd.port}" in listed and " up " in listed
        assert f"node {name}: up" in op.cli("node", "status", name).stdout

        op.cli("runtime", "add", "python", "--from", "runtimes/python")
        op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
        call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=3d6", "--json").stdout)
        assert call["status"] == "DONE" and call["node"] == name
        assert len(json.loads(call["result"])) == 3

        # A second push of the same archive sends no file data (digest-named, rsync skips it).
        ctx = op.context()
        from faasctl.core import artifacts, functions
        from faasctl.core import nodes as core_nodes

        digest = functions.get(ctx, "dice")["digest"]
        stored = agent_home / "artifacts" / f"{digest}.tar.gz"
        inode = stored.stat().st_ino
        assert artifacts.push(ctx, core_nodes.get(ctx, name), digest) == 0
        assert stored.stat().st_ino == inode
        again = op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python", "--json")
        # (fn deploy --json prints a progress line on stdout before the JSON document)
        assert json.loads(again.stdout[again.stdout.index("{"):])["changed"] is False and stored.stat().st_ino == inode

        # Re-bootstrap of the same build: no wheels, no install, the same agent process.
        # (new free ports in these args: the agent keeps its configured ones and faasctl adopts them)
        second = op.cli(*add_args(sshd, name, agent_home))  # the host key is known now: no flag needed
        assert "push wheels" not in second.stderr and "install agent" not in second.stderr
        assert "agent running this build" in second.stderr
        assert (agent_home / "agent.pid").read_text() == pid

        # An agent that stopped is started again by the same command (repair), nothing reinstalled.
        subprocess.run([str(agent_home / "venv" / "bin" / "python"), "-m", "faasctl_agent", "stop",
                        "--home", str(agent_home)], check=True, capture_output=True, timeout=60)
        repaired = op.cli(*add_args(sshd, name, agent_home))
        assert "start agent" in repaired.stderr and "install agent" not in repaired.stderr
        pid = (agent_home / "agent.pid").read_text()

        # A node on another build is upgraded in place: new agent process, same keys, still serving.
        (agent_home / "venv" / ".faasctl-build").write_text("0.0.0-older\n")
        upgraded = op.cli("node", "upgrade", name)
        assert "install agent" in upgraded.stderr and (agent_home / "agent.pid").read_text() != pid
        call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=2d6", "--json").stdout)
        assert call["status"] == "DONE" and call["node"] == name

        # The agent answers our key and nobody else's.
        node = core_nodes.get(ctx, name)
        assert AgentClient.for_node(node, ctx.identity()).request("hello", timeout=5)["node"] == name
        public, secret = zmq.curve_keypair()
        stranger = AgentClient.for_node(node, {"public": public.decode(), "secret": secret.decode()})
        with pytest.raises(NotAuthorised):  # its handshake is refused: nothing was read from it
            stranger.request("hello", timeout=2)
        stranger.close()

        assert "serving on" in op.cli("node", "logs", name).stdout
    finally:
        op.cli("node", "rm", name, check=False)
    assert not agent_home.exists()  # rm purges the agent's home (no --keep)
    assert op.cli("node", "list", "--json").stdout.strip() == "[]"
