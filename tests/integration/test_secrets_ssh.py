"""Issue 13 over a real SSH node (loopback sshd, agent in its own venv): a secret travels
only inside the agent request through the SSH tunnel, lands 0600 in the node agent's
home, and is in no other file there (rsync'd artifacts, journal, log) nor in sshd's log."""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

import pytest

from tests.support.operator import add_args, node_name, operator
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration

HANDLER = ("import hashlib, os\n\ndef handle(p):\n"
           "    with open('/var/run/secrets/faasctl/token', 'rb') as f:\n"
           "        return {'sha256': hashlib.sha256(f.read()).hexdigest(), 'mode': os.environ.get('MODE')}\n")


def test_secret_reaches_an_ssh_node_only_over_the_agent_channel(sshd: SshServer, tmp_path: Path) -> None:
    op = operator(tmp_path)
    name = node_name()
    agent_home = tmp_path / "agent-home"
    value = f"ssh-{secrets.token_hex(20)}".encode()
    src = tmp_path / "fn"
    src.mkdir()
    (src / "main.py").write_text(HANDLER)
    try:
        op.cli(*add_args(sshd, name, agent_home, "--accept-new-host-key"))
        op.cli("runtime", "add", "python", "--from", "runtimes/python")
        op.cli("secret", "set", "token", input=value.decode())
        op.cli("fn", "deploy", "sshsec", str(src), "--runtime", "python", "--handler", "main:handle",
               "--secret", "token", "--env", "MODE=ssh")
        call = json.loads(op.cli("invoke", "sshsec", "--json").stdout)
        import hashlib

        assert call["status"] == "DONE" and call["node"] == name
        assert json.loads(call["result"]) == {"sha256": hashlib.sha256(value).hexdigest(), "mode": "ssh"}
        stored = agent_home / "secrets" / "token"
        assert stored.read_bytes() == value and stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
        for root, _dirs, files in os.walk(agent_home):
            if Path(root) == stored.parent or "venv" in Path(root).relative_to(agent_home).parts[:1]:
                continue
            for file in files:
                assert value not in (Path(root) / file).read_bytes(), Path(root) / file
        assert value.decode() not in sshd.log()
        op.cli("fn", "rm", "sshsec")
        op.cli("secret", "rm", "token")
        assert not stored.exists() and not (op.home / "secrets" / "token").exists()
    finally:
        op.cli("node", "rm", name, check=False)
