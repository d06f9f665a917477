"""The sqlmodel engine over the state file, tuned so concurrent faasctl processes are safe.

WAL lets readers run beside a writer; synchronous=FULL makes a committed call survive a
power cut; every transaction starts with BEGIN IMMEDIATE, so two processes that both
read-then-write serialise on the write lock instead of one silently losing its update.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from ..config import private_dir, private_file
from ..errors import LOCK_HINT, StateError, storage_hint
from . import models  # noqa: F401  (registers the tables)

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=30000",
           "PRAGMA foreign_keys=ON")


def apply_pragmas(conn: sqlite3.Connection) -> None:
    for pragma in PRAGMAS:
        conn.execute(pragma)


def open_engine(path: Path) -> Engine:
    private_dir(path.parent)
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        if name == path.name or (path.parent / name).exists():
            private_file(path.parent / name)  # sqlite gives -wal and -shm the main file's mode
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        apply_pragmas(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        SQLModel.metadata.create_all(engine)
    except OperationalError as exc:
        raise StateError(f"cannot open the state file {path}: {exc.orig}",
                         storage_hint(str(exc.orig), path.parent,
                                      "check the path and its permissions, or set FAASCTL_HOME")) from exc
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            where = Path(engine.url.database or ".").parent
            raise StateError(f"state file error: {exc.orig}", storage_hint(str(exc.orig), where, LOCK_HINT)) from exc
        except BaseException:
            session.rollback()
            raise
