"""Function archives: checked, normalised and packed the same way on both sides.

The CLI checks an archive before it sends anything and the agent checks it again before
it unpacks anything, with this one module, so a hostile archive is refused early with
the same words and can never be half-stored. Normalised archives are byte-for-byte
reproducible (sorted entries, zero times, root owner), so the digest of the same code is
the same on every machine and a redeploy of unchanged code moves no data.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

from . import archive_limits as limits
from .archive_limits import MAX_ARCHIVE_BYTES, MAX_ENTRIES, MAX_NAME_BYTES, MAX_UNPACKED_BYTES
from .archive_links import LinkError, check_tree

__all__ = ["MAX_ARCHIVE_BYTES", "MAX_ENTRIES", "MAX_UNPACKED_BYTES", "ArchiveError", "Entry", "file_bytes",
           "pack", "pack_dir", "read_entries", "sha256"]
SKIP_DIRS = {".git", "__pycache__", ".venv", "node_modules", ".mypy_cache", ".pytest_cache"}
Source = Union[bytes, BinaryIO]  # a seekable binary file is read twice: headers first, then members


class ArchiveError(ValueError):
    """An archive that is refused; the message says which entry and why."""


@dataclass(frozen=True)
class Entry:
    name: str  # relative POSIX path, no leading "./"
    kind: str  # "file", "dir" or "link"
    mode: int  # permission bits as packed (normalised later)
    data: bytes = b""
    target: str = ""  # link target, relative and inside the tree


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_entries(source: Source, limit: int = MAX_ARCHIVE_BYTES) -> list[Entry]:
    """Parse a zip or (compressed) tar and refuse anything that could leave the tree."""
    raw: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source
    size = limits.size_of(raw)
    if size > limit:
        raise ArchiveError(f"archive is {size} bytes, over the limit of {limit}")
    raw.seek(0)
    magic = raw.read(4)
    raw.seek(0)
    try:
        found = _zip_entries(raw.read()) if magic in (b"PK\x03\x04", b"PK\x05\x06") else _tar_entries(raw)
        entries = [_checked(e) for e in found if e.name not in ("", ".")]
        if not entries:
            raise ArchiveError("archive is empty")
        if len(entries) > MAX_ENTRIES:
            raise ArchiveError(f"archive has {len(entries)} entries, over the limit of {MAX_ENTRIES}")
        entries = _strip_single_top_dir(entries)
        check_tree(entries)
    except (limits.LimitError, LinkError) as exc:
        raise ArchiveError(str(exc)) from exc
    return entries


def _zip_entries(data: bytes) -> list[Entry]:
    limits.check_zip_directory(data)  # before zipfile makes an object per entry
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(f"archive has {len(infos)} entries, over the limit of {MAX_ENTRIES}")
        total = sum(info.file_size for info in infos)
        if total > MAX_UNPACKED_BYTES:  # checked before inflating anything: zip bombs stop here
            raise ArchiveError(f"archive unpacks to {total} bytes, over the limit of {MAX_UNPACKED_BYTES}")
        out = []
        for info in infos:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                if info.file_size > MAX_NAME_BYTES:
                    raise ArchiveError(f"{info.filename}: link target is over {MAX_NAME_BYTES} bytes")
                out.append(Entry(info.filename, "link", 0o777, target=zf.read(info).decode()))
            elif info.is_dir():
                out.append(Entry(info.filename.rstrip("/"), "dir", 0o755))
            else:
                out.append(Entry(info.filename, "file", mode & 0o777 or 0o644, zf.read(info)))
        return out
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, EOFError, NotImplementedError) as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from exc


def _tar_entries(raw: BinaryIO) -> list[Entry]:
    """Headers are walked first (bounded), then tarfile reads the same stream anew."""
    try:
        limits.scan_tar(limits.open_decompressed(raw))
        tf = tarfile.open(fileobj=limits.open_decompressed(raw), mode="r:")  # noqa: SIM115 (closed below)
        out = []
        total = 0
        with tf:
            for count, member in enumerate(tf, 1):
                if count > MAX_ENTRIES:  # the scan counted already; this guards the scan itself
                    raise ArchiveError(f"archive has over {MAX_ENTRIES} entries, the limit")
                out.append(_tar_member(tf, member))
                total += len(out[-1].data)
                if total > MAX_UNPACKED_BYTES:
                    raise ArchiveError(f"archive unpacks to over {MAX_UNPACKED_BYTES} bytes")
        return out
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile, ImportError) as exc:
        raise ArchiveError(f"not a readable zip or tar.gz archive: {exc}") from exc
    except limits.LimitError as exc:
        raise ArchiveError(str(exc)) from exc


def _tar_member(tf: tarfile.TarFile, member: tarfile.TarInfo) -> Entry:
    if member.isdir():
        return Entry(member.name, "dir", 0o755)
    if member.issym():
        return Entry(member.name, "link", 0o777, target=member.linkname)
    if member.islnk():
        raise ArchiveError(f"{member.name}: hard links are not allowed")
    if member.isfile():
        if member.size > MAX_UNPACKED_BYTES:
            raise ArchiveError(f"archive unpacks to over {MAX_UNPACKED_BYTES} bytes")
        fobj = tf.extractfile(member)
        return Entry(member.name, "file", member.mode & 0o777, fobj.read() if fobj else b"")
    raise ArchiveError(f"{member.name}: devices, fifos and other special files are not allowed")


def _checked(entry: Entry) -> Entry:
    name = entry.name
    if max(len(name.encode(errors="replace")), len(entry.target.encode(errors="replace"))) > MAX_NAME_BYTES:
        raise ArchiveError(f"{name[:80]}...: a path or link target is over {MAX_NAME_BYTES} bytes")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"{name}: absolute paths are not allowed")
    if "\\" in name or "\x00" in name:
        raise ArchiveError(f"{name!r}: backslashes and NUL bytes are not allowed in names")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{name}: '..' is not allowed in paths")
    if entry.kind == "link" and (entry.target.startswith("/") or "\x00" in entry.target):
        raise ArchiveError(f"{name}: link to {entry.target!r} leaves the archive")
    return Entry("/".join(parts), entry.kind, entry.mode, entry.data, entry.target)


def _strip_single_top_dir(entries: list[Entry]) -> list[Entry]:
    """Accept `zip -r f.zip dice/` as well as an archive of dice's contents."""
    tops = {e.name.split("/", 1)[0] for e in entries}
    if len(tops) != 1:
        return entries
    top = tops.pop()
    if any(e.name == top and e.kind != "dir" for e in entries):
        return entries
    prefix = top + "/"
    return [
        Entry(e.name[len(prefix):], e.kind, e.mode, e.data, e.target)
        for e in entries
        if e.name.startswith(prefix)
    ]


def pack(entries: list[Entry], compress: bool = True) -> bytes:
    """A reproducible tar(.gz): sorted, root-owned, zero mtime, code not writable."""
    buf = io.BytesIO()
    # mtime=0 in the gzip header too, so equal trees give equal digests.
    raw: io.BufferedIOBase | gzip.GzipFile = (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) if compress else buf
    )
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for entry in sorted(entries, key=lambda e: e.name):
            info = tarfile.TarInfo(entry.name)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if entry.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
            elif entry.kind == "link":
                info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, entry.target
                tf.addfile(info)
            else:
                info.mode = 0o755 if entry.mode & 0o111 else 0o644
                info.size = len(entry.data)
                tf.addfile(info, io.BytesIO(entry.data))
    if compress:
        raw.close()
    return buf.getvalue()


def pack_dir(root: Path) -> bytes:
    """Pack a source folder the way `fn deploy DIR` sends it; limits hold while walking."""
    if not root.is_dir():
        raise ArchiveError(f"{root} is not a folder")
    entries: list[Entry] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rel_dir = Path(dirpath).relative_to(root)
        for name in dirnames + sorted(filenames):
            path = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            if path.is_symlink():
                entries.append(_checked(Entry(rel, "link", 0o777, target=os.readlink(path))))
            elif path.is_dir():
                entries.append(_checked(Entry(rel, "dir", 0o755)))
            elif path.is_file() and not name.endswith(".pyc"):
                info = path.stat()
                total += info.st_size
                if total > MAX_UNPACKED_BYTES:  # judged by size before reading the file
                    raise ArchiveError(f"{root} holds over {MAX_UNPACKED_BYTES} bytes, the limit")
                entries.append(_checked(Entry(rel, "file", info.st_mode & 0o777, path.read_bytes())))
            if len(entries) > MAX_ENTRIES:
                raise ArchiveError(f"{root} holds over {MAX_ENTRIES} entries, the limit")
    if not any(e.kind == "file" for e in entries):
        raise ArchiveError(f"{root} holds no files")
    try:
        check_tree(entries)
    except LinkError as exc:
        raise ArchiveError(str(exc)) from exc
    return pack(entries)


def file_bytes(entries: list[Entry], name: str) -> bytes | None:
    for entry in entries:
        if entry.name == name and entry.kind == "file":
            return entry.data
    return None
