"""How every connection to the state file is set up and how it writes, written once for
the ORM engine (db.py) and the plain sqlite3 fast path (fastpath.py). No ORM import here.

WAL lets readers run beside a writer; synchronous=FULL makes a committed call survive a
power cut; foreign_keys=ON makes SQLite keep the references the tables declare; every
write starts with BEGIN IMMEDIATE, so two processes that both read-then-write serialise
on the write lock instead of one silently losing its update.
"""

from __future__ import annotations

import sqlite3
import time
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
        if pragma == PRAGMAS[0]:
            _to_wal(conn)
        else:
            conn.execute(pragma)


def _to_wal(conn: Any) -> None:
    """Switching a file (one an older faasctl made) to WAL needs it to itself for a moment,
    and SQLite answers "locked" at once there, without its busy handler: a second faasctl
    opening it while the first migrates it would fail. So retry, as long as a busy wait."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute(PRAGMAS[0])
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def write_error(exc: BaseException, where: Path) -> StateError:
    """A failed write: its hint says a full disk when it is one, a lock otherwise."""
    text = str(getattr(exc, "orig", None) or exc)
    return StateError(f"state file error: {text}", storage_hint(text, where, LOCK_HINT))


def open_error(exc: BaseException, path: Path, default_hint: str) -> StateError:
    text = str(getattr(exc, "orig", None) or exc)
    return StateError(f"cannot open the state file {path}: {text}", storage_hint(text, path.parent, default_hint))
