"""The sqlmodel engine over the state file, set up as sqlite.py says (pragmas, BEGIN
IMMEDIATE), so concurrent faasctl processes are safe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from ..config import private_dir, private_file
from ..errors import FaasctlError
from . import aggregates, columns, models, sqlite  # noqa: F401  (models registers the tables)

Row = TypeVar("Row", bound=SQLModel)


def open_engine(path: Path) -> Engine:
    private_dir(path.parent)
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        if name == path.name or (path.parent / name).exists():
            private_file(path.parent / name)  # sqlite gives -wal and -shm the main file's mode
    engine = create_engine(f"sqlite:///{path}",
                           connect_args={"timeout": sqlite.BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite.prepare(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(sqlite.BEGIN)

    try:
        SQLModel.metadata.create_all(engine)
    except OperationalError as exc:
        raise sqlite.open_error(exc, path, "check the path and its permissions, or set FAASCTL_HOME") from exc
    raw = engine.raw_connection()
    try:
        columns.ensure(raw.driver_connection)  # type: ignore[arg-type]  # a file made before a column gets it now
        aggregates.ensure(raw.driver_connection)  # type: ignore[arg-type]  # a file made before the call counts gets them now
    finally:
        raw.close()
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
