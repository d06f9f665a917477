"""Bringing a state file to the migrations' head, on every opening (`ensure`).

A file at HEAD costs one SELECT (revision.read), so `faasctl invoke` and the read-only
commands never import Alembic or SQLAlchemy: only `upgrade` does, for a file elsewhere.
The whole upgrade is one write transaction (BEGIN IMMEDIATE): a second faasctl opening
the same old file waits for the lock, finds the file at HEAD and does nothing; and since
SQLite's DDL is transactional, a migration that fails midway rolls back to the file as it
was. The backup is taken under that lock before the first change, with sqlite3's backup
API (it reads through SQLite, so what is still in the WAL is included).

On PostgreSQL (`_upgrade_pg`) the same holds under pg.py's write lock: an empty database
is made at HEAD (as a new file is), an older one migrated by the same Alembic steps in one
transaction (PostgreSQL's DDL is transactional too), a newer one refused. No backup is
taken there: that is the database's own tooling's job (pg_dump, docs/state.md).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from ..config import PRIVATE_FILE
from ..errors import StateError
from . import pg, revision, sqlite

LOCATION = Path(__file__).with_name("migrations")


def ensure(conn: Any, path: Path) -> None:
    """Bring the state file at `path` (open on `conn`; or the database a pg.PgConnection is
    open on) to HEAD; refuse a newer one."""
    url: str = getattr(conn, "url", "")
    try:
        found = revision.read(conn)
    except sqlite3.Error as exc:
        if url:
            raise pg.open_error(exc, url) from exc
        raise sqlite.open_error(exc, path, "check the path and its permissions") from exc
    if found == revision.HEAD:
        return
    if found is not None and found not in revision.REVISIONS:
        raise revision.newer(pg.redact(url) if url else path, found)
    if url:
        _upgrade_pg(path, url)
    else:
        upgrade(path)


def _upgrade_pg(path: Path, url: str) -> None:
    """The database to HEAD under the write lock: made there when empty, else migrated."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import engines

    engine = engines.make_engine(path, url)
    found: str | None = None
    try:
        with engine.connect() as conn, conn.begin():  # begin takes the write lock: one migrator at a time
            raw = engines.raw(conn)
            have = pg.tables(raw)
            found = revision.read(raw) if revision.TABLE in have else None
            if found == revision.HEAD:
                return
            if found is not None and found not in revision.REVISIONS:
                raise revision.newer(pg.redact(url), found)
            if found is None:
                if have - {revision.TABLE}:
                    raise StateError(f"the database {pg.redact(url)} has tables but no faasctl revision",
                                     "give faasctl a database of its own (CREATE DATABASE faasctl)")
                engines.create(conn)  # an empty database: a new state at HEAD
                return
            _alembic(conn)
    except SQLAlchemyError as exc:
        text = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StateError(f"cannot migrate the state database {pg.redact(url)} from revision {found or 'base'} to "
                         f"{revision.HEAD}: {text}",
                         "the database is as it was (the migration rolled back); fix what the error names, "
                         "then run any faasctl command again") from exc
    finally:
        engine.dispose()
    sys.stderr.write(f"faasctl: migrated the state database {pg.redact(url)} from revision {found} to "
                     f"{revision.HEAD}\n")


def upgrade(path: Path) -> None:
    """Migrate the file to HEAD (an empty one gets a new state), or raise StateError."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import engines

    engine = engines.make_engine(path)
    found: str | None = None
    backup: Path | None = None
    try:
        with engine.connect() as conn, conn.begin():
            raw: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
            found = revision.read(raw)
            if found == revision.HEAD:
                return  # another faasctl migrated it while this one waited for the lock
            if found is not None and found not in revision.REVISIONS:
                raise revision.newer(path, found)
            if found is None and engines.empty(raw):
                engines.create(conn)  # an empty file: a new state, nothing to back up
                return
            if found is None:
                found = revision.detect(raw)  # made before migrations: stamp what it has
                if found is not None:
                    revision.stamp(raw, found)
            backup = _backup(path, found or "base")
            _alembic(conn)
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:  # OSError: the backup could not be written
        text = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        kept = f"; its copy before the attempt is {backup}" if backup else ""
        raise StateError(f"cannot migrate the state file {path} from revision {found or 'base'} to "
                         f"{revision.HEAD}: {text}",
                         f"the file is as it was (the migration rolled back){kept}; free the disk or fix what "
                         "the error names, then run any faasctl command again") from exc
    finally:
        engine.dispose()
    sys.stderr.write(f"faasctl: migrated the state file {path} from revision {found or 'base'} to "
                     f"{revision.HEAD}; the old file is kept at {backup}\n")


def _backup(path: Path, found: str) -> Path:
    """`state.db.backup-<revision>-<UTC time>`, 0600 from the start: a copy of what is
    committed, read by a second connection (SQLite refuses a backup from the connection
    holding the write lock), while the caller's lock keeps every writer out."""
    stem = f"{path.name}.backup-{found}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    for n in range(100):
        target = path.with_name(stem if n == 0 else f"{stem}-{n}")
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
            break
        except FileExistsError:
            continue
    else:
        raise sqlite3.OperationalError(f"no free backup name beside {path}")
    source, copy = sqlite3.connect(path, timeout=sqlite.BUSY_TIMEOUT_S), sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, not a WAL database
    finally:
        copy.close()
        source.close()
    return target


def _alembic(conn: Any) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(LOCATION))
    config.attributes["connection"] = conn  # env.py migrates on it, inside this transaction
    command.upgrade(config, "head")
