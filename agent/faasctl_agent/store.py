"""The agent's artifact store: pushed archives, read back and checked by digest.

faasctl places each artifact atomically (a temporary name, then a rename), so a push cut
short by a full disk leaves at most a temporary file, never a wrong `<digest>.tar.gz`.
The agent still checks every digest it reads, says "disk full" when that is the reason a
file is short, and sweeps temporary files that a failed push left behind.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from . import archive, names
from .protocol import E_BAD_ARCHIVE, E_BAD_REQUEST, E_NOT_FOUND, AgentFailure

STALE_TMP_S = 3600.0  # a temporary file this old belongs to no push still running
LOW_SPACE = 1024 * 1024  # under this many free bytes, a short artifact is blamed on the disk


def free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return -1


def sweep(folder: Path, now: float | None = None, max_files: int = 10_000) -> int:
    """Remove temporary files of failed pushes (dot-names ending in .tmp, older than an hour)."""
    now = time.time() if now is None else now
    removed = 0
    try:
        found = list(os.scandir(folder))[:max_files]
    except FileNotFoundError:
        return 0
    for item in found:
        if item.name.startswith(".") and item.is_file(follow_symlinks=False):
            try:
                if now - item.stat(follow_symlinks=False).st_mtime > STALE_TMP_S:
                    os.unlink(item.path)
                    removed += 1
            except FileNotFoundError:
                continue
    return removed


def read(folder: Path, digest: str, node: str) -> bytes:
    """An artifact's bytes, checked against its digest; a bad file is removed."""
    if not names.valid_digest(digest):
        raise AgentFailure(E_BAD_REQUEST, f"{digest!r} is not an artifact digest")
    path = folder / f"{digest}.tar.gz"
    if not path.exists():
        raise AgentFailure(E_NOT_FOUND, f"artifact {digest[:12]} is not on node {node}",
                           "push it first (faasctl does this as part of deploy)")
    data = path.read_bytes()
    if archive.sha256(data) != digest:
        path.unlink()
        if 0 <= free_bytes(folder) < LOW_SPACE:
            raise AgentFailure(E_BAD_ARCHIVE, f"artifact {digest[:12]} on node {node} is incomplete: the disk "
                               f"holding {folder} is full", "free space there, then deploy again")
        raise AgentFailure(E_BAD_ARCHIVE, f"artifact {digest[:12]} on node {node} is corrupt",
                           "it was removed; deploy again to push it anew")
    return data
