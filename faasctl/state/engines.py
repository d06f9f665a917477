"""The ORM engine over a state file, and a new state made at the migrations' head.

Apart from db.py so the migrations (migrate.py) can make both without importing the
module that runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, create_engine

from . import aggregates, models, pg, revision, sqlite  # noqa: F401  (models registers the tables)


def make_engine(path: Path, url: str = "") -> Engine:
    """Connections prepared by sqlite.py (pragmas), every transaction BEGIN IMMEDIATE; with
    a PostgreSQL `url`, every transaction takes pg.py's write lock instead."""
    if url:
        return _pg_engine(url)
    engine = create_engine(f"sqlite:///{path}",
                           connect_args={"timeout": sqlite.BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite.prepare(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(sqlite.BEGIN)

    return engine


def _pg_engine(url: str) -> Engine:
    """The ORM over PostgreSQL: one writer at a time, as on SQLite (pg.py says why)."""
    pg.driver()  # the one-line error when psycopg is missing, before SQLAlchemy's
    engine = create_engine(pg.sqlalchemy_url(url), connect_args={"options": pg.OPTIONS, "connect_timeout": 10},
                           pool_pre_ping=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({pg.WRITE_LOCK})")

    return engine


def raw(conn: Connection) -> Any:
    """The DB-API connection under an ORM one: sqlite3's, or pg.py's adapter over psycopg's."""
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        return pg.wrap(driver, str(conn.engine.url))
    return driver


def empty(conn: Any) -> bool:
    if isinstance(conn, pg.PgConnection):
        return not pg.tables(conn)
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None


def create_if_empty(conn: Connection) -> None:
    """A new state in a file without tables (checked again under the write lock: two
    processes may find the same new file)."""
    if empty(raw(conn)):
        with conn.begin():
            if empty(raw(conn)):
                create(conn)


def create(conn: Connection) -> None:
    """A new state at HEAD, inside the caller's transaction: the models' tables, the
    triggers of the call counts, the stamp. The migrations end at the same schema
    (tests/unit/test_migrations_schema.py compares them)."""
    SQLModel.metadata.create_all(conn)
    driver = raw(conn)
    aggregates.install(driver.execute, conn.dialect.name)
    revision.stamp(driver, revision.HEAD)
