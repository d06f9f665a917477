"""The sqlmodel engine over the state file, set up as sqlite.py says (pragmas, BEGIN
IMMEDIATE), so concurrent faasctl processes are safe; a new file is made at the
migrations' head (engines.py), an older one migrated (migrate.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

from ..config import private_dir, private_file
from ..errors import FaasctlError
from . import engines, migrate, pg, sqlite

Row = TypeVar("Row", bound=SQLModel)


def open_engine(path: Path, url: str = "") -> Engine:
    """The engine over the state file, made at HEAD when new, migrated to it when older
    (migrate.ensure; a file made by a newer faasctl is refused). With a PostgreSQL `url`,
    the same over that database (pg.py)."""
    if url:
        return _open_pg(path, url)
    private_dir(path.parent)
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        if name == path.name or (path.parent / name).exists():
            private_file(path.parent / name)  # sqlite gives -wal and -shm the main file's mode
    engine = engines.make_engine(path)
    try:
        with engine.connect() as conn:
            raw: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
            engines.create_if_empty(conn)
            migrate.ensure(raw, path)
    except OperationalError as exc:
        engine.dispose()
        raise sqlite.open_error(exc, path, "check the path and its permissions, or set FAASCTL_HOME") from exc
    except BaseException:
        engine.dispose()
        raise
    return engine


def _open_pg(path: Path, url: str) -> Engine:
    """The revision is checked (the database made or migrated) on a plain connection first:
    an ORM connection would hold the write lock the migration needs."""
    conn = pg.connect(url, path.parent)
    try:
        migrate.ensure(conn, path)
    finally:
        conn.close()
    return engines.make_engine(path, url)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if engine.dialect.name == "postgresql":
                raise pg.write_error(exc, str(engine.url)) from exc
            raise sqlite.write_error(exc, Path(engine.url.database or ".").parent) from exc
        except BaseException:
            session.rollback()
            raise


def get_or_raise(session: Session, model: type[Row], key: Any, missing: FaasctlError) -> Row:
    """The row with this primary key, or `missing` raised (a NotFound with its hint)."""
    row = session.get(model, key)
    if row is None:
        raise missing
    return row
