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
import posixpath
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_ENTRIES = 20_000
SKIP_DIRS = {".git", "__pycache__", ".venv", "node_modules", ".mypy_cache", ".pytest_cache"}


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


def read_entries(data: bytes, limit: int = MAX_ARCHIVE_BYTES) -> list[Entry]:
    """Parse a zip or (gzipped) tar and refuse anything that could leave the tree."""
    if len(data) > limit:
        raise ArchiveError(f"archive is {len(data)} bytes, over the limit of {limit}")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        raw = list(_zip_entries(data))
    else:
        raw = list(_tar_entries(data))
    entries = [_checked(e) for e in raw if e.name not in ("", ".")]
    if not entries:
        raise ArchiveError("archive is empty")
    if len(entries) > MAX_ENTRIES:
        raise ArchiveError(f"archive has {len(entries)} entries, over the limit of {MAX_ENTRIES}")
    total = sum(len(e.data) for e in entries)
    if total > MAX_UNPACKED_BYTES:
        raise ArchiveError(f"archive unpacks to {total} bytes, over the limit of {MAX_UNPACKED_BYTES}")
    return _strip_single_top_dir(entries)


def _zip_entries(data: bytes) -> list[Entry]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        out = []
        total = 0
        for info in zf.infolist():
            mode = info.external_attr >> 16
            total += info.file_size
            if total > MAX_UNPACKED_BYTES:  # checked before inflating: zip bombs stop here
                raise ArchiveError(f"archive unpacks to over {MAX_UNPACKED_BYTES} bytes")
            if stat.S_ISLNK(mode):
                out.append(Entry(info.filename, "link", 0o777, target=zf.read(info).decode()))
            elif info.is_dir():
                out.append(Entry(info.filename.rstrip("/"), "dir", 0o755))
            else:
                out.append(Entry(info.filename, "file", mode & 0o777 or 0o644, zf.read(info)))
        return out
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, EOFError) as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from exc


def _tar_entries(data: bytes) -> list[Entry]:
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115 (in-memory)
        out = []
        total = 0
        for member in tf:
            if member.isdir():
                out.append(Entry(member.name, "dir", 0o755))
            elif member.issym():
                out.append(Entry(member.name, "link", 0o777, target=member.linkname))
            elif member.islnk():
                raise ArchiveError(f"{member.name}: hard links are not allowed")
            elif member.isfile():
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise ArchiveError(f"archive unpacks to over {MAX_UNPACKED_BYTES} bytes")
                fobj = tf.extractfile(member)
                out.append(Entry(member.name, "file", member.mode & 0o777, fobj.read() if fobj else b""))
            else:
                raise ArchiveError(f"{member.name}: devices, fifos and other special files are not allowed")
        return out
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ArchiveError(f"not a readable zip or tar.gz archive: {exc}") from exc


def _checked(entry: Entry) -> Entry:
    name = entry.name
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"{name}: absolute paths are not allowed")
    if "\\" in name or "\x00" in name:
        raise ArchiveError(f"{name!r}: backslashes and NUL bytes are not allowed in names")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{name}: '..' is not allowed in paths")
    clean = "/".join(parts)
    if entry.kind == "link":
        target = entry.target
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(clean), target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
            raise ArchiveError(f"{name}: link to {target!r} leaves the archive")
    return Entry(clean, entry.kind, entry.mode, entry.data, entry.target)


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
    """Pack a source folder the way `fn deploy DIR` sends it."""
    if not root.is_dir():
        raise ArchiveError(f"{root} is not a folder")
    entries: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rel_dir = Path(dirpath).relative_to(root)
        for name in dirnames + sorted(filenames):
            path = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            if path.is_symlink():
                entries.append(Entry(rel, "link", 0o777, target=os.readlink(path)))
            elif path.is_dir():
                entries.append(Entry(rel, "dir", 0o755))
            elif path.is_file() and not name.endswith(".pyc"):
                entries.append(Entry(rel, "file", path.stat().st_mode & 0o777, path.read_bytes()))
    checked = [_checked(e) for e in entries]
    if not any(e.kind == "file" for e in checked):
        raise ArchiveError(f"{root} holds no files")
    return pack(checked)


def file_bytes(entries: list[Entry], name: str) -> bytes | None:
    for entry in entries:
        if entry.name == name and entry.kind == "file":
            return entry.data
    return None
