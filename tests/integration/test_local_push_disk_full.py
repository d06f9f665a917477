"""Issue 9, agent side of a local node: an artifact pushed onto a full disk (a real tmpfs)
is refused in one line and leaves no half-written file; the next push, once there is
room, works."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from faasctl.connectors.local import LocalConnector
from faasctl.errors import NodeSetupFailed

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_push_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    artifact = tmp_path / "abc.tar.gz"
    artifact.write_bytes(b"x" * (3 * 2**20))
    with small_disk(tmp_path / "node", "1m") as disk:
        target = disk / "artifacts" / artifact.name
        with pytest.raises(NodeSetupFailed) as caught:
            LocalConnector("local").put_file(artifact, str(target))
        assert "no space left to store abc.tar.gz" in caught.value.message and "\n" not in caught.value.message
        assert caught.value.hint == "free disk space there"
        assert sorted(p.name for p in (disk / "artifacts").iterdir()) == []  # no temporary file left
        small = tmp_path / "small.tar.gz"
        small.write_bytes(b"y" * 1000)
        assert LocalConnector("local").put_file(small, str(disk / "artifacts" / small.name)) == 1000
