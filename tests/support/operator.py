"""An operator for SSH tests: its own FAASCTL_HOME, the CLI as a user runs it, and the
arguments that add the loopback sshd (tests/support/sshd.py) as a node.

The loopback sshd logs in as the user running the tests, so the "remote" agent is a
second agent on this machine: own home under the test's tmp dir, own free ports, the
same Docker engine. Its CURVE socket binds 127.0.0.1 (traffic stays on loopback).
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

from tests.support.platform import REPO, Platform
from tests.support.sshd import SshServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def operator(tmp_path: Path) -> Platform:
    """A fresh FAASCTL_HOME whose agent wheels come from a snapshot of agent/.

    The snapshot pins the agent build for the whole test: edits to agent/ made while
    it runs (a build is named by a hash of the source) cannot turn a no-op into an upgrade.
    """
    home = tmp_path / "faasctl-home"
    home.mkdir()
    source = tmp_path / "agent-source"
    shutil.copytree(REPO / "agent", source, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    return Platform(home, {**os.environ, "FAASCTL_HOME": str(home), "FAASCTL_AGENT_SOURCE": str(source)})


def node_name(prefix: str = "ssh") -> str:
    """Unique per test: agents prefix their container and volume names with it."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def add_args(server: SshServer, name: str, agent_home: Path, *extra: str) -> list[str]:
    return ["node", "add", name, "--host", f"{server.user}@{server.host}:{server.port}",
            "--key", str(server.client_key_path), "--home", str(agent_home),
            "--agent-bind", "127.0.0.1", "--agent-port", str(free_port()), "--http-port", str(free_port()),
            *extra]
