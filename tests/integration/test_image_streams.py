"""The connectors' streams that carry images (docker save | docker load), on real
processes and a real loopback sshd: bytes arrive whole, memory stays bounded, a failed
command is reported with its own stderr, and a consumer that stops early stops it."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from faasctl.connectors.base import STREAM_CHUNK
from faasctl.connectors.local import LocalConnector
from faasctl.connectors.ssh import SshConnector, SshTarget
from faasctl.errors import FaasctlError
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration

SIZE = 32 << 20


def connector(server: SshServer, tmp_path: Path) -> SshConnector:
    return SshConnector(SshTarget(name="n1", host=server.host, port=server.port, user=server.user,
                                  key_path=str(server.client_key_path), known_hosts=tmp_path / "known_hosts",
                                  pinned_fingerprint=server.host_key_fingerprint))


def pattern(total: int) -> Iterator[bytes]:
    """Made chunk by chunk, never held whole."""
    for i in range(total // STREAM_CHUNK):
        yield i.to_bytes(4, "big") * (STREAM_CHUNK // 4)


def expected_digest(total: int) -> str:
    h = hashlib.sha256()
    for chunk in pattern(total):
        h.update(chunk)
    return h.hexdigest()


@pytest.mark.parametrize("kind", ["local", "ssh"])
def test_stream_in_delivers_every_byte_with_bounded_memory(kind: str, sshd: SshServer, tmp_path: Path) -> None:
    conn = LocalConnector() if kind == "local" else connector(sshd, tmp_path)
    try:
        conn.run(("true",))  # connect (and pin the host key) before measuring
        tracemalloc.start()
        res = conn.stream_in(("sha256sum",), pattern(SIZE))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        conn.close()
    assert res.code == 0 and res.stdout.split()[0] == expected_digest(SIZE)
    assert peak < 4 << 20, peak  # 32 MiB went through; a few chunks and a window were ever held


@pytest.mark.parametrize("kind", ["local", "ssh"])
def test_stream_out_yields_chunks_as_they_come(kind: str, sshd: SshServer, tmp_path: Path) -> None:
    conn = LocalConnector() if kind == "local" else connector(sshd, tmp_path)
    try:
        h, total, biggest = hashlib.sha256(), 0, 0
        for chunk in conn.stream_out(("head", "-c", str(SIZE), "/dev/zero")):
            h.update(chunk)
            total += len(chunk)
            biggest = max(biggest, len(chunk))
        assert total == SIZE and h.hexdigest() == hashlib.sha256(bytes(SIZE)).hexdigest()
        assert biggest <= STREAM_CHUNK
        with pytest.raises(FaasctlError) as failed:
            list(conn.stream_out(("sh", "-c", "echo partial; echo 'no such image' >&2; exit 3")))
        assert "exited 3: no such image" in failed.value.message
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["local", "ssh"])
def test_early_exits_on_either_side(kind: str, sshd: SshServer, tmp_path: Path) -> None:
    conn = LocalConnector() if kind == "local" else connector(sshd, tmp_path)
    try:
        # The reader stops after 10 bytes: its exit code and stderr come back, not a broken pipe.
        res = conn.stream_in(("sh", "-c", "head -c 10 >/dev/null; echo refused >&2; exit 4"), pattern(SIZE))
        assert res.code == 4 and "refused" in res.stderr
        # The consumer stops after one chunk of an endless stream: closing ends the command.
        endless = conn.stream_out(("cat", "/dev/zero"))
        assert len(next(endless)) > 0
        endless.close()  # type: ignore[attr-defined]
        assert conn.run(("echo", "still usable")).stdout.strip() == "still usable"
    finally:
        conn.close()
