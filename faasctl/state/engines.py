"""The ORM engine over a state file, and a new state made at the migrations' head.

Apart from db.py so the migrations (migrate.py) can make both without importing the
module that runs them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, create_engine

from . import aggregates, models, revision, sqlite  # noqa: F401  (models registers the tables)


def make_engine(path: Path) -> Engine:
    """Connections prepared by sqlite.py (pragmas), every transaction BEGIN IMMEDIATE."""
    engine = create_engine(f"sqlite:///{path}",
                           connect_args={"timeout": sqlite.BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite.prepare(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(sqlite.BEGIN)

    return engine


def _raw(conn: Connection) -> sqlite3.Connection:
    return conn.connection.driver_connection  # type: ignore[return-value]


def empty(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None


def create_if_empty(conn: Connection) -> None:
    """A new state in a file without tables (checked again under the write lock: two
    processes may find the same new file)."""
    if empty(_raw(conn)):
        with conn.begin():
            if empty(_raw(conn)):
                create(conn)


def create(conn: Connection) -> None:
    """A new state at HEAD, inside the caller's transaction: the models' tables, the
    triggers of the call counts, the stamp. The migrations end at the same schema
    (tests/unit/test_migrations_schema.py compares them)."""
    SQLModel.metadata.create_all(conn)
    raw = _raw(conn)
    aggregates.install(raw.execute)
    revision.stamp(raw, revision.HEAD)
