"""Archives on the operator's side: checked, normalised, named by digest, cached.

The cache under FAASCTL_HOME/artifacts lets a node that joins later, or a redeploy,
get the same bytes without the user's folder; the digest names the file everywhere.
A cache write that fails (a full disk) leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faasctl_agent import archive

from ..errors import InvalidInput, NotFound, StateError, disk_full_hint
from .context import Context

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Artifact:
    digest: str
    path: Path  # in the operator's cache
    size: int
    filename: str


def prepare(ctx: Context, source: Path | bytes, filename: str = "") -> Artifact:
    """Check a folder or an archive (zip, tar.gz) and cache its normalised form."""
    try:
        if isinstance(source, bytes):
            data = archive.pack(archive.read_entries(source))
        elif source.is_dir():
            data = archive.pack_dir(source)
            filename = filename or source.name
        elif source.is_file():
            data = archive.pack(_read_file(source))
            filename = filename or source.name
        else:
            raise NotFound(f"{source} does not exist", "give a folder or a .zip / .tar.gz archive")
    except archive.ArchiveError as exc:
        hint = ("keep it within the limits in docs/security.md (64 MiB packed, 256 MiB unpacked, 20,000 entries)"
                if "limit" in str(exc) else "remove the offending entry and try again")
        raise InvalidInput(f"archive refused: {exc}", hint) from exc
    except OSError as exc:  # a file in the folder we may not read, say
        where = exc.filename or "the archive"
        raise InvalidInput(f"cannot read {where}: {exc.strerror or exc}", "check the path and its permissions") from exc
    digest = archive.sha256(data)
    path = ctx.settings.home / "artifacts" / f"{digest}.tar.gz"
    if not path.exists():
        store(path, data)
    return Artifact(digest, path, len(data), filename)


def _read_file(source: Path) -> list[archive.Entry]:
    """The archive is judged by its size before a byte of it is read, then streamed."""
    with source.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > archive.MAX_ARCHIVE_BYTES:
            raise archive.ArchiveError(f"{source} is {size} bytes, over the limit of {archive.MAX_ARCHIVE_BYTES}")
        return archive.read_entries(handle)


def store(path: Path, data: bytes) -> None:
    """Write `path` atomically; on failure remove the partial file and say why in one line."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if exc.errno in DISK_FULL:
            raise StateError(f"no space left to store the archive ({len(data)} bytes) in {path.parent}",
                             disk_full_hint(path.parent)) from exc
        raise StateError(f"cannot write {path}: {exc.strerror or exc}",
                         f"check that {path.parent} is writable, or set FAASCTL_HOME elsewhere") from exc


def cached(ctx: Context, digest: str) -> Path:
    path = ctx.settings.home / "artifacts" / f"{digest}.tar.gz"
    if not path.exists():
        raise NotFound(f"artifact {digest[:12]} is not in {path.parent}", "deploy the function again from its source")
    return path


def push(ctx: Context, node: dict[str, Any], digest: str) -> int:
    """Send an artifact to a node's store unless it is there; returns bytes sent."""
    remote = f"{node['agent_home']}/artifacts/{digest}.tar.gz"
    return ctx.connector(node).put_file(cached(ctx, digest), remote)
