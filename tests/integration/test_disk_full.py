"""Issue 9, operator side: FAASCTL_HOME on a real, small tmpfs that fills up.

The state file and the artifact cache live on the tmpfs; the local node's agent home
(FAASCTL_HOME/nodes) is a link to the ordinary disk, so the agent itself has room and
only the operator's side runs out. The CLI runs as a user runs it, in new processes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import Platform

pytestmark = pytest.mark.integration
TMPFS_SIZE = "8m"
ARCHIVE_BYTES = 3 * 1024 * 1024  # random, so it does not compress: it cannot fit in what is left


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Platform]:
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(home)], check=True)
    (tmp_path / "nodes").mkdir()
    (home / "nodes").symlink_to(tmp_path / "nodes")
    plat = Platform(home, {**os.environ, "FAASCTL_HOME": str(home)})
    try:
        yield plat
    finally:
        filler = home / "filler"
        if filler.exists():
            filler.unlink()
        plat.cli("node", "rm", "local", check=False)
        subprocess.run(["umount", "-l", str(home)], check=False)


def fill(folder: Path, leave: int = 0) -> None:
    """Append to a filler file until the filesystem refuses, then give `leave` bytes back."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(100_000):  # bounded: 400 MB at most, far over the mount's size
            try:
                os.write(fd, b"f" * 4096)
            except OSError:
                break
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)


def one_error(proc: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "hint:"))]
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), proc.stderr
    return lines[0], lines[1]


def test_deploy_and_invoke_on_a_full_disk(small_home: Platform, tmp_path: Path) -> None:
    plat = small_home
    plat.cli("node", "add", "local")
    plat.cli("runtime", "add", "python", "--from", "runtimes/python")
    plat.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
    source = tmp_path / "big"
    source.mkdir()
    (source / "main.py").write_text("def handle(p):\n    return 1\n")
    (source / "blob.bin").write_bytes(os.urandom(ARCHIVE_BYTES))
    cache = plat.home / "artifacts"
    cached_before = sorted(p.name for p in cache.iterdir())

    fill(plat.home, leave=512 * 1024)  # room for the state file's journal, not for the archive
    proc = plat.cli("fn", "deploy", "big", str(source), "--runtime", "python", "--handler", "main:handle",
                    check=False)
    assert proc.returncode == 11, proc.stderr
    error, hint = one_error(proc)
    assert error.startswith("error: no space left to store the archive") and str(cache) in error
    assert "is full" in hint and "lock" not in hint
    assert sorted(p.name for p in cache.iterdir()) == cached_before, "a temporary or partial file was left"

    fill(plat.home)  # now nothing at all is left
    proc = plat.cli("invoke", "dice", "-p", "roll=1d6", check=False)
    assert proc.returncode == 11, proc.stderr
    error, hint = one_error(proc)
    assert "is full" in hint and str(plat.home) in hint and "lock" not in hint, hint

    (plat.home / "filler").unlink()  # with room again, the same commands work
    assert plat.cli("invoke", "dice", "-p", "roll=1d6").stdout.strip().startswith("[")
    plat.cli("fn", "deploy", "big", str(source), "--runtime", "python", "--handler", "main:handle")
