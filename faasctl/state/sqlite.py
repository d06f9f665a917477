"""How every connection to the state file is set up and how it writes, written once for
the ORM engine (db.py) and the plain sqlite3 fast path (fastpath.py). No ORM import here.

WAL lets readers run beside a writer; synchronous=FULL makes a committed call survive a
power cut; foreign_keys=ON makes SQLite keep the references the tables declare; every
write starts with BEGIN IMMEDIATE, so two processes that both read-then-write serialise
on the write lock instead of one silently losing its update.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import LOCK_HINT, StateError, storage_hint

BUSY_TIMEOUT_S = 30
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}",
           "PRAGMA foreign_keys=ON")
BEGIN = "BEGIN IMMEDIATE"


def prepare(conn: Any) -> None:
    """Autocommit at the driver (we issue BEGIN ourselves), then the pragmas."""
    conn.isolation_level = None
    for pragma in PRAGMAS:
        conn.execute(pragma)


def write_error(exc: BaseException, where: Path) -> StateError:
    """A failed write: its hint says a full disk when it is one, a lock otherwise."""
    text = str(getattr(exc, "orig", None) or exc)
    return StateError(f"state file error: {text}", storage_hint(text, where, LOCK_HINT))


def open_error(exc: BaseException, path: Path, default_hint: str) -> StateError:
    text = str(getattr(exc, "orig", None) or exc)
    return StateError(f"cannot open the state file {path}: {text}", storage_hint(text, path.parent, default_hint))
