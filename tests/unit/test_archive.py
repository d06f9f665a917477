"""Archive checks: what is refused, and that normalised archives are reproducible."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from faasctl_agent import archive


def tar_gz(members: list[tuple[str, bytes | None, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tf.addfile(info)
            else:
                info.size = len(data or b"")
                tf.addfile(info, io.BytesIO(data or b""))
    return buf.getvalue()


@pytest.mark.parametrize("name,link,reason", [
    ("/etc/passwd", "", "absolute"),
    ("../up.py", "", "'..'"),
    ("a/../../up.py", "", "'..'"),
    ("ln", "/etc/passwd", "leaves the archive"),
    ("sub/ln", "../../x", "leaves the archive"),
])
def test_hostile_tar_entries_are_refused(name: str, link: str, reason: str) -> None:
    data = tar_gz([("ok.py", b"x", ""), (name, b"y", link)])
    with pytest.raises(archive.ArchiveError, match=reason):
        archive.read_entries(data)


def test_link_inside_tree_is_kept() -> None:
    entries = archive.read_entries(tar_gz([("a/x.py", b"1", ""), ("a/ln", None, "x.py"), ("b.py", b"2", "")]))
    assert {e.name: e.kind for e in entries}["a/ln"] == "link"


def test_zip_with_dotdot_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.py", "x")
    with pytest.raises(archive.ArchiveError, match="'..'"):
        archive.read_entries(buf.getvalue())


def test_size_limits() -> None:
    with pytest.raises(archive.ArchiveError, match="over the limit"):
        archive.read_entries(b"x" * 100, limit=10)
    with pytest.raises(archive.ArchiveError, match="not a readable"):
        archive.read_entries(b"garbage bytes")
    with pytest.raises(archive.ArchiveError, match="empty"):
        archive.read_entries(tar_gz([]))


def test_single_top_folder_is_stripped_and_digest_is_stable(tmp_path: Path) -> None:
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("dice/test.py", "print(1)\n")
        zf.writestr("dice/requirements.txt", "")
    from_zip = archive.pack(archive.read_entries(zipped.getvalue()))
    (tmp_path / "test.py").write_text("print(1)\n")
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"junk")
    from_dir = archive.pack_dir(tmp_path)
    assert archive.sha256(from_zip) == archive.sha256(from_dir)
    assert archive.sha256(archive.pack(archive.read_entries(from_dir))) == archive.sha256(from_dir)


def test_packed_code_is_root_owned_and_not_writable() -> None:
    packed = archive.pack([archive.Entry("run.sh", "file", 0o777, b"#!/bin/sh\n")])
    with tarfile.open(fileobj=io.BytesIO(packed)) as tf:
        info = tf.getmember("run.sh")
    assert (info.uid, info.gid, info.mtime, info.mode) == (0, 0, 0, 0o755)


@pytest.mark.parametrize("kind,reason", [
    (tarfile.LNKTYPE, "hard links"), (tarfile.FIFOTYPE, "special files"), (tarfile.CHRTYPE, "special files"),
    (tarfile.BLKTYPE, "special files"),
])
def test_hard_links_fifos_and_devices_are_refused(kind: bytes, reason: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.addfile(tarfile.TarInfo("ok.py"), io.BytesIO(b""))
        info = tarfile.TarInfo("odd")
        info.type, info.linkname = kind, "ok.py" if kind == tarfile.LNKTYPE else ""
        tf.addfile(info)
    with pytest.raises(archive.ArchiveError, match=reason):
        archive.read_entries(buf.getvalue())


def test_tar_declaring_more_than_the_unpacked_limit_is_refused_at_its_header() -> None:
    info = tarfile.TarInfo("big.bin")
    info.size = archive.MAX_UNPACKED_BYTES + 1
    data = gzip.compress(info.tobuf(format=tarfile.PAX_FORMAT) + b"\0" * 4096)  # the body is never there
    with pytest.raises(archive.ArchiveError, match="unpacks to over"):
        archive.read_entries(data)


def test_over_long_names_are_refused() -> None:
    with pytest.raises(archive.ArchiveError, match="over 4096 bytes"):
        archive.read_entries(tar_gz([("a/" * 2100 + "x.py", b"1", "")]))
