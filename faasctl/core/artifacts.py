"""Archives on the operator's side: checked, normalised, named by digest, cached.

The cache under FAASCTL_HOME/artifacts lets a node that joins later, or a redeploy,
get the same bytes without the user's folder; the digest names the file everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faasctl_agent import archive

from ..errors import InvalidInput, NotFound
from .context import Context


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
            data = archive.pack(archive.read_entries(source.read_bytes()))
            filename = filename or source.name
        else:
            raise NotFound(f"{source} does not exist", "give a folder or a .zip / .tar.gz archive")
    except archive.ArchiveError as exc:
        raise InvalidInput(f"archive refused: {exc}", "remove the offending entry and try again") from exc
    digest = archive.sha256(data)
    path = ctx.settings.home / "artifacts" / f"{digest}.tar.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{digest}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return Artifact(digest, path, len(data), filename)


def cached(ctx: Context, digest: str) -> Path:
    path = ctx.settings.home / "artifacts" / f"{digest}.tar.gz"
    if not path.exists():
        raise NotFound(f"artifact {digest[:12]} is not in {path.parent}", "deploy the function again from its source")
    return path


def push(ctx: Context, node: dict[str, Any], digest: str) -> int:
    """Send an artifact to a node's store unless it is there; returns bytes sent."""
    remote = f"{node['agent_home']}/artifacts/{digest}.tar.gz"
    return ctx.connector(node).put_file(cached(ctx, digest), remote)
