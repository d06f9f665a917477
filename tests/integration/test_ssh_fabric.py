"""The SSH connector on fabric, against a real loopback sshd: the running user's own SSH
files (~/.ssh/known_hosts, ~/.ssh/config) never widen or redirect faasctl's trust, and a
tunnel channel the node refuses is logged while the tunnel keeps serving."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from faasctl.connectors.ssh import SshConnector, SshTarget
from faasctl.errors import HostKeyError
from tests.support.sshd import SshServer, free_port

pytestmark = pytest.mark.integration


def target(server: SshServer, known_hosts: Path, **kw: object) -> SshTarget:
    return SshTarget(name="n1", host=server.host, port=server.port, user=server.user,
                     key_path=str(server.client_key_path), known_hosts=known_hosts, **kw)  # type: ignore[arg-type]


@pytest.fixture
def user_ssh(sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME whose ~/.ssh trusts the node and whose ssh config sends every host elsewhere."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    sshd.write_known_hosts(home / ".ssh" / "known_hosts")
    (home / ".ssh" / "config").write_text("Host *\n  HostName 192.0.2.1\n  Port 1\n  User nobody\n"
                                          "  ProxyCommand false\n")
    monkeypatch.setenv("HOME", str(home))
    return home / ".ssh"


def test_user_known_hosts_is_not_trusted(sshd: SshServer, tmp_path: Path, user_ssh: Path) -> None:
    import fabric
    import paramiko

    # Controls: the libraries' defaults do read these files, so ignoring them is faasctl's doing.
    plain = paramiko.SSHClient()  # paramiko's usual setup trusts the key in ~/.ssh/known_hosts
    plain.load_system_host_keys()
    plain.set_missing_host_key_policy(paramiko.RejectPolicy())
    plain.connect(sshd.host, port=sshd.port, username=sshd.user, key_filename=str(sshd.client_key_path),
                  look_for_keys=False, allow_agent=False, timeout=15)
    plain.close()
    assert fabric.Config().base_ssh_config.lookup(sshd.host)["port"] == "1"
    assert isinstance(fabric.Connection(sshd.host).client._policy, paramiko.AutoAddPolicy)

    before = (user_ssh / "known_hosts").read_bytes()
    ours = tmp_path / "faasctl-home" / "known_hosts"
    marker = tmp_path / "ran"
    conn = SshConnector(target(sshd, ours))
    with pytest.raises(HostKeyError) as refused:
        conn.run(("touch", str(marker)))
    assert "not a known host" in refused.value.message and sshd.host_key_fingerprint in refused.value.message
    assert not marker.exists() and not ours.exists()
    assert (user_ssh / "known_hosts").read_bytes() == before


def test_user_ssh_config_does_not_redirect(sshd: SshServer, tmp_path: Path, user_ssh: Path) -> None:
    ours = tmp_path / "known_hosts"
    conn = SshConnector(target(sshd, ours, pinned_fingerprint=sshd.host_key_fingerprint))
    try:
        # Reached at the target's own address, port and user, not ~/.ssh/config's.
        assert conn.run(("sh", "-c", "echo $SSH_CONNECTION; id -un")).stdout.split()[-3:] == \
            [sshd.host, str(sshd.port), sshd.user]
        err = conn.run(("sh", "-c", "echo out; echo err >&2; exit 4"))
        assert (err.code, err.stdout, err.stderr) == (4, "out\n", "err\n")
    finally:
        conn.close()
    assert sshd.known_hosts_line.split()[0] in ours.read_text()  # remembered in faasctl's file only


def _exchange(port: int, payload: bytes) -> bytes:
    """Send payload through the tunnel and read until the far side closes (bounded)."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        for _ in range(100):
            try:
                data = s.recv(65536)
            except ConnectionResetError:  # closed with our bytes unread: closed all the same
                break
            if not data:
                break
            got += data
    return got


def test_refused_tunnel_channel_is_logged_and_tunnel_survives(
        sshd: SshServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    conn = SshConnector(target(sshd, sshd.write_known_hosts(tmp_path / "known_hosts")))
    remote_port = free_port()
    try:
        local = conn.forward("127.0.0.1", remote_port)
        with caplog.at_level(logging.WARNING, logger="faasctl.connectors.tunnel"):
            assert _exchange(local, b"nobody listens") == b""  # refused by the node: closed
        refused = [r.getMessage() for r in caplog.records if r.name == "faasctl.connectors.tunnel"]
        assert len(refused) == 1 and "\n" not in refused[0]
        assert f"node n1: channel to 127.0.0.1:{remote_port} refused" in refused[0]

        with socket.socket() as server:  # now something listens there: the same tunnel carries it
            server.bind(("127.0.0.1", remote_port))
            server.listen(1)
            server.settimeout(10)
            client = socket.create_connection(("127.0.0.1", local), timeout=10)
            peer, _ = server.accept()
            with client, peer:
                client.sendall(b"ping")
                assert peer.recv(4) == b"ping"
                peer.sendall(b"pong")
                assert client.recv(4) == b"pong"
    finally:
        conn.close()
