"""`node add` failures and options (issue 9, items 11 and 12), through the real CLI.

A port taken on the node is held by a real listening socket; the SSH node is the loopback
sshd (tests/support/sshd.py), so "the node" is this machine and the port is a loopback port.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.operator import add_args, free_port, node_name, operator
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration


@contextmanager
def occupied_port() -> Iterator[int]:
    """A loopback port held by a real listening socket for the block's duration."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def with_port(args: list[str], flag: str, port: int) -> list[str]:
    out = list(args)
    out[out.index(flag) + 1] = str(port)
    return out


def test_ssh_add_on_a_taken_port_says_so_and_leaves_no_configuration(sshd: SshServer, tmp_path: Path,
                                                                    docker: object) -> None:
    op = operator(tmp_path)
    name = node_name("busy")
    agent_home = tmp_path / "agent-home"
    try:
        with occupied_port() as port:
            args = with_port(add_args(sshd, name, agent_home, "--accept-new-host-key"), "--agent-port", port)
            failed = op.cli(*args, check=False)
        assert failed.returncode == 12, failed.stderr
        assert f"port {port} in use on the node" in failed.stderr
        assert "handshake" not in failed.stderr
        assert not (agent_home / "agent.json").exists()  # the failed try left no configuration
        assert json.loads(op.cli("node", "list", "--json").stdout) == []

        # The next try, on a free port, uses that port (nothing "kept" from the failed one).
        retry_args = add_args(sshd, name, agent_home)
        retry = op.cli(*retry_args)
        assert "keeps its configured ports" not in retry.stderr
        node = json.loads(op.cli("node", "list", "--json").stdout)[0]
        assert node["name"] == name and node["status"]["up"] is True
        config = json.loads((agent_home / "agent.json").read_text())
        assert config["zmq_endpoint"] == f"tcp://127.0.0.1:{retry_args[retry_args.index('--agent-port') + 1]}"
        assert config["http_port"] == int(retry_args[retry_args.index("--http-port") + 1])
    finally:
        op.cli("node", "rm", name, check=False)
    assert not agent_home.exists()


def test_ssh_add_on_a_taken_http_port_says_so(sshd: SshServer, tmp_path: Path, docker: object) -> None:
    op = operator(tmp_path)
    name = node_name("busyhttp")
    agent_home = tmp_path / "agent-home"
    try:
        with occupied_port() as port:
            args = with_port(add_args(sshd, name, agent_home, "--accept-new-host-key"), "--http-port", port)
            failed = op.cli(*args, check=False)
        assert failed.returncode == 12 and f"port {port} in use on the node" in failed.stderr, failed.stderr
        assert not (agent_home / "agent.json").exists()
    finally:
        op.cli("node", "rm", name, check=False)


def test_local_add_honours_ports_and_labels(tmp_path: Path, docker: object) -> None:
    op = operator(tmp_path)
    agent_port, http_port = free_port(), free_port()
    try:
        op.cli("node", "add", "local", "--agent-port", str(agent_port), "--http-port", str(http_port),
               "--label", "zone=desk", "--label", "gpu=no")
        node = json.loads(op.cli("node", "list", "--json").stdout)[0]
        assert node["zmq_endpoint"] == f"tcp://127.0.0.1:{agent_port}" and node["http_port"] == http_port
        assert node["labels"] == {"zone": "desk", "gpu": "no"} and node["status"]["up"] is True
        # Re-adding with other ports is refused, not silently ignored.
        other = op.cli("node", "add", "local", "--agent-port", str(free_port()), check=False)
        assert other.returncode == 4 and f"{agent_port}" in other.stderr and "node rm local" in other.stderr
        # Re-adding with the same options (or none) confirms the node.
        op.cli("node", "add", "local")
        again = json.loads(op.cli("node", "list", "--json").stdout)[0]
        assert again["zmq_endpoint"] == node["zmq_endpoint"] and again["labels"] == node["labels"]
    finally:
        op.cli("node", "rm", "local", check=False)


def test_local_add_refuses_ssh_only_options(tmp_path: Path) -> None:
    op = operator(tmp_path)
    for extra in (["--sudo"], ["--tunnel"], ["--key", "k"], ["--home", "/tmp/x"], ["--agent-bind", "0.0.0.0"],
                  ["--agent-address", "h:1"], ["--accept-new-host-key"], ["--host-key-fingerprint", "SHA256:x"]):
        proc = op.cli("node", "add", "local", *extra, check=False)
        assert proc.returncode == 2, (extra, proc.stderr)
        assert extra[0] in proc.stderr and "--host" in proc.stderr
    assert not (op.home / "nodes").exists()  # nothing was started


def test_local_add_on_a_taken_port_says_so(tmp_path: Path, docker: object) -> None:
    op = operator(tmp_path)
    try:
        with occupied_port() as port:
            failed = op.cli("node", "add", "local", "--agent-port", str(port), check=False)
        assert failed.returncode == 12 and f"port {port} in use on the node" in failed.stderr, failed.stderr
        assert json.loads(op.cli("node", "list", "--json").stdout) == []
    finally:
        op.cli("node", "rm", "local", check=False)


def test_ssh_add_rewrites_a_stopped_agent_config_no_record_refers_to(sshd: SshServer, tmp_path: Path,
                                                                     docker: object) -> None:
    """An agent.json left on the node with no node record here (a failed try whose clean-up
    did not run, another state file) and no agent running: the ports asked for are used."""
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first, second = operator(tmp_path / "first"), operator(tmp_path / "second")
    name = node_name("stale")
    agent_home = tmp_path / "agent-home"
    try:
        first.cli(*add_args(sshd, name, agent_home, "--accept-new-host-key"))
        subprocess.run([str(agent_home / "venv" / "bin" / "python"), "-m", "faasctl_agent", "stop",
                        "--home", str(agent_home)], check=True, capture_output=True, timeout=60)
        old = json.loads((agent_home / "agent.json").read_text())
        args = add_args(sshd, name, agent_home, "--accept-new-host-key")
        added = second.cli(*args)
        assert "keeps its configured ports" not in added.stderr
        config = json.loads((agent_home / "agent.json").read_text())
        assert config["zmq_endpoint"] == f"tcp://127.0.0.1:{args[args.index('--agent-port') + 1]}"
        assert config["http_port"] == int(args[args.index("--http-port") + 1])
        assert config["instance"] == old["instance"] and config["http_token"] == old["http_token"]
        assert json.loads(second.cli("node", "list", "--json").stdout)[0]["status"]["up"] is True
    finally:
        second.cli("node", "rm", name, check=False)
