"""Host key rules and file transfer of the SSH connector, against a real loopback sshd
and real rsync: unknown hosts are refused unless accepted or pinned, a changed key stops
everything before a command runs, and a file already on the node is not sent again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from faasctl.connectors import transfer
from faasctl.connectors.ssh import SshConnector, SshTarget
from faasctl.errors import HostKeyError
from tests.support.operator import add_args, node_name, operator
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration


def target(server: SshServer, tmp_path: Path, **kw: object) -> SshTarget:
    return SshTarget(name="n1", host=server.host, port=server.port, user=server.user,
                     key_path=str(server.client_key_path), known_hosts=tmp_path / "known_hosts", **kw)  # type: ignore[arg-type]


def test_unknown_host_is_refused_and_nothing_runs(sshd: SshServer, tmp_path: Path) -> None:
    op = operator(tmp_path)
    agent_home = tmp_path / "agent-home"
    proc = op.cli(*add_args(sshd, node_name(), agent_home), check=False)
    assert proc.returncode == 6, proc.stderr
    assert "not a known host" in proc.stderr and sshd.host_key_fingerprint in proc.stderr
    assert "--accept-new-host-key" in proc.stderr
    assert not agent_home.exists() and not (op.home / "known_hosts").exists()


def test_pinned_fingerprint_must_match(sshd: SshServer, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    wrong = SshConnector(target(sshd, tmp_path, pinned_fingerprint="SHA256:" + "A" * 43))
    with pytest.raises(HostKeyError) as refused:
        wrong.run(("touch", str(marker)))
    assert sshd.host_key_fingerprint in refused.value.message and not marker.exists()

    pinned = SshConnector(target(sshd, tmp_path, pinned_fingerprint=sshd.host_key_fingerprint))
    assert pinned.run(("echo", "hi")).stdout == "hi\n"
    pinned.close()
    # Remembered: the next session needs neither pin nor flag.
    again = SshConnector(target(sshd, tmp_path))
    assert again.run(("sh", "-c", "exit 3")).code == 3
    again.close()


def test_changed_host_key_stops_before_anything_runs(sshd: SshServer, tmp_path: Path) -> None:
    op = operator(tmp_path)
    first = SshConnector(target(sshd, op.home, accept_new=True))
    assert first.run(("true",)).code == 0
    first.close()
    old = sshd.host_key_fingerprint
    sshd.rotate_host_key()
    marker = tmp_path / "ran"

    conn = SshConnector(target(sshd, op.home, accept_new=True))  # accepting new keys never covers changed ones
    with pytest.raises(HostKeyError) as stopped:
        conn.run(("touch", str(marker)))
    assert old in stopped.value.message and sshd.host_key_fingerprint in stopped.value.message
    assert not marker.exists()

    # rsync's OpenSSH reads the same file and refuses as well.
    payload = tmp_path / "payload"
    payload.write_bytes(b"x" * 100)
    with pytest.raises(HostKeyError):
        transfer.rsync(target(sshd, op.home), [str(payload)], str(tmp_path / "copy"), ignore_existing=True)
    assert not (tmp_path / "copy").exists()

    # And the CLI says so in one line, with both fingerprints, exit 6.
    agent_home = tmp_path / "agent-home"
    proc = op.cli(*add_args(sshd, node_name(), agent_home, "--accept-new-host-key"), check=False)
    assert proc.returncode == 6 and "HOST KEY CHANGED" in proc.stderr
    assert old in proc.stderr and sshd.host_key_fingerprint in proc.stderr and not agent_home.exists()


@pytest.mark.parametrize("method", ["rsync", "sftp"])
def test_second_push_sends_no_file_data(sshd: SshServer, tmp_path: Path, method: str) -> None:
    data = hashlib.sha256(method.encode()).digest() * 40_000  # 1.28 MB
    local = tmp_path / "artifact.tar.gz"
    local.write_bytes(data)
    remote = tmp_path / "node" / "artifacts" / f"{hashlib.sha256(data).hexdigest()}.tar.gz"
    conn = SshConnector(target(sshd, tmp_path, accept_new=True))
    if method == "sftp":
        conn._remote_rsync = False  # as if rsync were missing on the node
    else:
        assert conn.has_rsync()
    try:
        assert conn.put_file(local, str(remote)) == len(data)
        assert remote.read_bytes() == data
        inode = remote.stat().st_ino
        assert conn.put_file(local, str(remote)) == 0  # rsync --stats: 0 bytes of file data
        assert remote.stat().st_ino == inode
        assert [p.name for p in remote.parent.iterdir()] == [remote.name]  # no temp files left
    finally:
        conn.close()
