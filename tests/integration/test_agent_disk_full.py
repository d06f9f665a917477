"""Issue 9 (agent side): a full disk or a failed volume fill gives one clear line, leaves
nothing half-done behind and corrupts nothing. Real tmpfs mounts, real SQLite, real Docker."""

from __future__ import annotations

import io
import os
import secrets
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent import archive, store
from faasctl_agent.executor import Executor
from faasctl_agent.journal import Journal
from faasctl_agent.protocol import AgentFailure

pytestmark = pytest.mark.integration
IMAGE = "faasctl/base:bookworm"  # made by scripts/setup.sh; the fill containers never start


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        where = tmp_path / f"tmpfs{len(mounted)}"
        where.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True)
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill_disk(folder: Path) -> Path:
    """Write a filler file until the filesystem refuses (bounded by the mount's size)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(10_000):
            try:
                os.write(fd, b"f" * 4096)
            except OSError:
                break
    finally:
        os.close(fd)
    assert store.free_bytes(folder) < 8192
    return filler


def one_line(exc: AgentFailure) -> None:
    assert "\n" not in exc.message and exc.message and exc.hint, (exc.message, exc.hint)


def call(n: int, params: Any = None) -> dict[str, Any]:
    return {"id": f"c{n}", "function": "f", "digest": "d" * 64, "params": params, "status": "DONE",
            "is_async": False, "accepted_at": time.time()}


# the journal -------------------------------------------------------------------------------
def test_journal_on_a_full_disk_fails_clearly_and_stays_whole(tmpfs: Any) -> None:
    home = tmpfs("1m")
    journal = Journal(home / "journal.db")
    journal.accept(call(1, {"a": 1}))
    journal.save_function("f", "d" * 64, {"name": "f"})
    filler = fill_disk(home)
    with pytest.raises(AgentFailure) as refused:
        journal.accept(call(2, {"blob": "x" * 300_000}))
    one_line(refused.value)
    assert "disk is full" in refused.value.message and str(home) in refused.value.hint
    for n in range(3, 40):  # written-behind rows: kept for later, never raised into the loop
        journal.finish_later(call(n, {"blob": "y" * 20_000}))
    journal.flush()
    assert len(journal._pending) == 37
    assert journal.get("c1") is not None and journal.get("c2") is None
    with pytest.raises(AgentFailure):
        journal.save_deps("k", "v" * 400_000)
    filler.unlink()
    journal.flush()
    assert journal._pending == [] and journal.get("c39") is not None
    journal.close()
    db = sqlite3.connect(str(home / "journal.db"))
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT COUNT(*) FROM calls").fetchone() == (38,)
    assert db.execute("SELECT COUNT(*) FROM deps").fetchone() == (0,)


# the artifact store ----------------------------------------------------------------------------
def test_short_artifact_on_a_full_disk_is_named_and_removed(tmpfs: Any) -> None:
    folder = tmpfs("256k")
    data = archive.pack([archive.Entry("test.py", "file", 0o644, os.urandom(100_000))])
    digest = archive.sha256(data)
    filler = fill_disk(folder)
    os.truncate(filler, filler.stat().st_size - 32 * 1024)  # room for a short copy only
    path = folder / f"{digest}.tar.gz"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, data)  # a short write: what a push cut off by the full disk leaves
    except OSError:
        pass
    finally:
        os.close(fd)
    fill_disk(folder)
    with pytest.raises(AgentFailure) as refused:
        store.read(folder, digest, "n1")
    one_line(refused.value)
    assert "disk" in refused.value.message and "full" in refused.value.message
    assert not path.exists()


def test_sweep_removes_only_stale_temporary_files(tmp_path: Path) -> None:
    old, fresh, kept = tmp_path / ".a.tar.gz.1.tmp", tmp_path / ".b.tar.gz.2.tmp", tmp_path / f"{'e' * 64}.tar.gz"
    for p in (old, fresh, kept):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert store.sweep(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, kept.name])


# volumes: fills and installs that fail leave no volume ------------------------------------------
@pytest.fixture
def executor() -> Iterator[Executor]:
    ex = Executor(f"t9-{secrets.token_hex(4)}")
    if not ex.image_id(IMAGE):
        pytest.fail(f"{IMAGE} is missing; run scripts/setup.sh")
    yield ex
    ex.remove_all()
    ex.remove_volumes()


def leftovers(ex: Executor) -> tuple[list[Any], list[str]]:
    vols = ex.api.volumes(filters={"label": f"faasctl.node={ex.node}"}).get("Volumes") or []
    return ex.ours(), [v["Name"] for v in vols]


def tmpfs_volume(ex: Executor, name: str, size: str) -> None:
    ex.api.create_volume(name, driver_opts={"type": "tmpfs", "device": "tmpfs", "o": f"size={size}"},
                         labels={"faasctl.node": ex.node})


def raw_tar(members: list[tuple[str, str, bytes]]) -> bytes:
    """A tar built by hand, past the archive checker: the fill itself must cope."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("case", ["through-link", "name-too-long", "disk-full"])
def test_failed_fill_leaves_no_volume_and_says_why(executor: Executor, case: str) -> None:
    name = f"faasctl-{executor.node}-code-{case}"
    if case == "through-link":
        # as the agent packs it (sorted): the link comes before the folder it points to
        tar = archive.pack([archive.Entry("test.py", "file", 0o644, b"x=1\n"), archive.Entry("sub", "dir", 0o755),
                            archive.Entry("ln", "link", 0o777, target="sub"),
                            archive.Entry("ln/through.txt", "file", 0o644, b"t\n")], compress=False)
    elif case == "name-too-long":
        tar = raw_tar([("test.py", "file", b"x=1\n"), ("n" * 300, "file", b"long\n")])
    else:
        tmpfs_volume(executor, name, "64k")
        tar = raw_tar([("test.py", "file", b"x=1\n"), ("big.bin", "file", os.urandom(1 << 20))])
    with pytest.raises(AgentFailure) as failed:
        executor.fill_volume(name, IMAGE, tar)
    one_line(failed.value)
    assert "APIError" not in failed.value.message and "409" not in failed.value.message
    if case == "disk-full":
        assert "no space left" in failed.value.message
    assert leftovers(executor) == ([], [])


def test_dependency_install_on_a_full_disk(executor: Executor) -> None:
    code = f"faasctl-{executor.node}-code-deps"
    executor.fill_volume(code, IMAGE, raw_tar([("requirements.txt", "file", b"big\n")]))
    deps = f"faasctl-{executor.node}-deps-full"
    tmpfs_volume(executor, deps, "1m")
    with pytest.raises(AgentFailure) as failed:
        executor.install_deps(IMAGE, code, "/ws", "dd if=/dev/zero of=/deps/big bs=64k count=64", deps)
    one_line(failed.value)
    assert "no space left" in failed.value.message and "deploy again" in failed.value.hint
    assert leftovers(executor) == ([], [code])
