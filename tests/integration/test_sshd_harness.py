"""Proves the sshd harness with real clients, so connector tests can trust it.

Every client here runs with host key checking on (paramiko's RejectPolicy,
ssh's StrictHostKeyChecking=yes): a harness that only worked with checking
off would let connector tests pass against insecure code.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import paramiko
import pytest

from tests.support import fixtures
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration

# Make the fixture visible here until the main conftest imports it.
sshd = fixtures.sshd

TIMEOUT = 15.0


def _client(known_hosts: Path | None) -> paramiko.SSHClient:
    """A client that refuses any host key not in ``known_hosts`` (none if None)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    if known_hosts is not None:
        client.load_host_keys(str(known_hosts))
    return client


def _connect(client: paramiko.SSHClient, server: SshServer) -> None:
    """Key-only login: no agent and no ~/.ssh keys, so only the test key can succeed."""
    client.connect(
        server.host,
        port=server.port,
        username=server.user,
        pkey=paramiko.PKey.from_path(server.client_key_path),
        look_for_keys=False,
        allow_agent=False,
        timeout=TIMEOUT,
        banner_timeout=TIMEOUT,
        auth_timeout=TIMEOUT,
    )


def _run(client: paramiko.SSHClient, command: str) -> tuple[int, str, str]:
    _stdin, stdout, stderr = client.exec_command(command, timeout=TIMEOUT)
    out = stdout.read().decode()
    err = stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


def test_paramiko_runs_command_with_pinned_host_key(
    sshd: SshServer, tmp_path: Path
) -> None:
    client = _client(sshd.write_known_hosts(tmp_path / "known_hosts"))
    try:
        _connect(client, sshd)
        transport = client.get_transport()
        assert transport is not None
        assert (
            transport.get_remote_server_key().fingerprint == sshd.host_key_fingerprint
        )
        assert _run(client, "echo hi") == (0, "hi\n", "")
    finally:
        client.close()


def test_fingerprint_matches_ssh_keygen(sshd: SshServer) -> None:
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", f"{sshd.host_key_path}.pub"],
        check=True,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    ).stdout.split()
    assert listed[1] == sshd.host_key_fingerprint


def test_unknown_host_key_is_refused(sshd: SshServer) -> None:
    client = _client(known_hosts=None)
    try:
        with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
            _connect(client, sshd)
    finally:
        client.close()


def test_rotated_host_key_is_refused_by_pinned_client(
    sshd: SshServer, tmp_path: Path
) -> None:
    old_known_hosts = sshd.write_known_hosts(tmp_path / "old_known_hosts")
    old_fingerprint, old_port = sshd.host_key_fingerprint, sshd.port

    sshd.rotate_host_key()

    assert sshd.port == old_port
    assert sshd.host_key_fingerprint != old_fingerprint
    stale = _client(old_known_hosts)
    try:
        with pytest.raises(paramiko.BadHostKeyException):
            _connect(stale, sshd)
    finally:
        stale.close()
    # The server itself is fine: a client pinning the new key gets in.
    fresh = _client(sshd.write_known_hosts(tmp_path / "new_known_hosts"))
    try:
        _connect(fresh, sshd)
        assert _run(fresh, "echo hi")[1] == "hi\n"
    finally:
        fresh.close()


def test_rsync_over_ssh_copies_then_transfers_nothing(
    sshd: SshServer, tmp_path: Path
) -> None:
    assert shutil.which("rsync"), "rsync not installed: run scripts/setup.sh (or apt-get install rsync)"
    source = tmp_path / "src"
    source.mkdir()
    payload = os.urandom(256 * 1024)
    (source / "blob.bin").write_bytes(payload)
    (source / "handler.py").write_text("def handle(event):\n    return event\n")
    target = tmp_path / "dst"  # localhost: the "remote" side is a local path
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    ssh = shlex.join(
        [
            "ssh",
            "-F", "/dev/null",
            "-p", str(sshd.port),
            "-i", str(sshd.client_key_path),
            "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
        ]
    )  # fmt: skip
    command = [
        "rsync",
        "-a",
        "--stats",
        "-e",
        ssh,
        f"{source}/",
        f"{sshd.user}@{sshd.host}:{target}/",
    ]

    first = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False
    )
    assert first.returncode == 0, f"{first.stderr}\n--- sshd log ---\n{sshd.log()}"
    assert (target / "blob.bin").read_bytes() == payload
    assert (target / "handler.py").read_text() == (source / "handler.py").read_text()

    second = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False
    )
    assert second.returncode == 0, second.stderr
    unchanged = re.search(
        r"^Total transferred file size: 0 bytes", second.stdout, re.MULTILINE
    ) or re.search(r"^Literal data: 0 bytes", second.stdout, re.MULTILINE)
    assert unchanged, second.stdout
