"""Secret values on the operator's side: FAASCTL_HOME/secrets/NAME, one 0600 file each.

Not in state.db, for the reason the operator's keys are not (keyfiles.py): the state
file is read by many tools and copied into backups and bug reports. The state file
knows which functions use which secret, by name only. Each write is atomic (a 0600
temporary file, fsynced, renamed), so a reader sees the old value or the new one.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import PRIVATE_FILE, private_dir
from ..errors import NotFound, StateError


def _path(folder: Path, name: str) -> Path:
    return folder / name  # the caller checked the name (fnconfig's rule: no '/', no leading '.')


def write(folder: Path, name: str, value: bytes) -> None:
    private_dir(folder)
    tmp = folder / f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as out:
            out.write(value)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, _path(folder, name))
    except OSError as exc:
        raise StateError(f"cannot write secret {name} in {folder}: {exc.strerror or exc}",
                         f"check the disk and the permissions of {folder}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def read(folder: Path, name: str) -> bytes:
    try:
        return _path(folder, name).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no secret named {name!r}", f"set it first: faasctl secret set {name} < FILE") from None
    except OSError as exc:
        raise StateError(f"cannot read secret {name} in {folder}: {exc.strerror or exc}",
                         f"check the permissions of {folder}") from exc


def exists(folder: Path, name: str) -> bool:
    return _path(folder, name).is_file()


def remove(folder: Path, name: str) -> None:
    _path(folder, name).unlink(missing_ok=True)


def listing(folder: Path) -> dict[str, float]:
    """Each secret's name and the time its value was last set."""
    try:
        items = list(os.scandir(folder))
    except FileNotFoundError:
        return {}
    return {i.name: i.stat().st_mtime for i in sorted(items, key=lambda i: i.name)
            if not i.name.startswith(".") and i.is_file(follow_symlinks=False)}
