"""The state in PostgreSQL (FAASCTL_STATE_URL=postgresql+psycopg://...): the one module
that knows the dialect.

Why an adapter instead of a second copy of the raw-SQL code: the fast path, the readers,
the group commit and node health are written once against the slice of sqlite3's
DB-API they use (`execute` with `?` or `:name` placeholders, rows read by index or by
name, `lastrowid`, `in_transaction`, sqlite3's exceptions). `PgConnection` offers that
slice over psycopg 3, and translates the few statements whose meaning is SQLite's:

- `BEGIN IMMEDIATE` (SQLite's one write lock, which the code relies on so that two
  processes' read-then-write never lose an update) becomes `BEGIN` plus
  `pg_advisory_xact_lock(WRITE_LOCK)`: one writer at a time across every process on the
  database, held to the end of the transaction. The ORM engine takes the same lock at
  each transaction's start (engines.py), so both paths serialise as they do on SQLite.
- `BEGIN` (a read snapshot, reads.snapshot) becomes a REPEATABLE READ transaction.
- `INSERT INTO call` returns its `call_num` (a sequence: unique across processes).

Everything else the raw SQL uses is common to both (ON CONFLICT upserts, UNION, LIMIT);
what is not (SQLite's two-argument MIN/MAX) is named per connection (`LEAST`, `GREATEST`).
Secrets and keys stay in FAASCTL_HOME's files, never in the database.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import StateError

SCHEMES = ("postgresql", "postgres")
WRITE_LOCK = 0x66616173  # "faas": the advisory lock every writer holds to its commit
LOCK_TIMEOUT_MS = 30_000  # as SQLite's busy timeout (sqlite.BUSY_TIMEOUT_S)
OPTIONS = f"-c lock_timeout={LOCK_TIMEOUT_MS}"
_SPECIAL = {
    # one round trip: without parameters psycopg sends both in one simple query
    "BEGIN IMMEDIATE": (f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})",),
    "BEGIN": ("BEGIN ISOLATION LEVEL REPEATABLE READ",),
}
LAZY_COMMIT = "SET LOCAL synchronous_commit TO off"  # a batch of PENDING records: as SQLite's NORMAL
_RETURNING = {"call": "call_num"}  # tables whose INSERT gives `lastrowid`
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


def is_url(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] in SCHEMES


def check_url(url: str) -> str:
    """The URL, or InvalidInput-like StateError naming what is wrong with it."""
    scheme = url.split("://", 1)[0]
    if "://" not in url or not is_url(url):
        raise StateError(f"state URL {redact(url)!r} is not a PostgreSQL URL",
                         "use postgresql+psycopg://USER@HOST:PORT/DB (or unset FAASCTL_STATE_URL for the "
                         "state file in FAASCTL_HOME)")
    if "+" in scheme and scheme.split("+", 1)[1] != "psycopg":
        raise StateError(f"state URL driver {scheme.split('+', 1)[1]!r} is not supported",
                         "use postgresql+psycopg://... (psycopg 3: pip install 'faasctl[postgres]')")
    return url


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + check_url(url).split("://", 1)[1]


def conninfo(url: str) -> str:
    return "postgresql://" + check_url(url).split("://", 1)[1]


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def driver() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise StateError("the PostgreSQL driver (psycopg 3) is not installed",
                         "pip install 'faasctl[postgres]' (or psycopg[binary]) in faasctl's environment") from exc
    return psycopg


def open_error(exc: BaseException, url: str) -> StateError:
    text = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["refused"])[0]
    return StateError(f"cannot open the state database {redact(url)}: {text}",
                      "check that the server runs and accepts this user and database, and the URL "
                      "(FAASCTL_STATE_URL or --state-url)")


def write_error(exc: BaseException, url: str) -> StateError:
    text = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["failed"])[0]
    return StateError(f"state database error: {text}",
                      "another faasctl may hold the write lock for long, or the server is gone; run the "
                      f"command again (database {redact(url)})")


@lru_cache(maxsize=512)
def translate(sql: str) -> tuple[str, ...]:
    """The statements psycopg runs for one of ours: placeholders in its style."""
    text = sql.strip().rstrip(";")
    if text.upper() in _SPECIAL:
        return _SPECIAL[text.upper()]
    text = _NAMED.sub(r"%(\1)s", text.replace("%", "%%")).replace("?", "%s")
    insert = _INSERT.match(text)
    if insert and insert.group(1).lower() in _RETURNING and "RETURNING" not in text.upper():
        text += f" RETURNING {_RETURNING[insert.group(1).lower()]}"
    return (text,)


class Row(tuple):  # type: ignore[type-arg]
    """A row read by index or by column name, and `dict(row)`, as sqlite3.Row."""

    names: tuple[str, ...] = ()
    positions: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.positions[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


@lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"names": names, "positions": {n: i for i, n in enumerate(names)}})


def _rows(cursor: Any) -> Any:
    cls = _row_class(tuple(c.name for c in cursor.description or ()))
    return lambda values: cls(values)


class Cursor:
    """What `PgConnection.execute` returns: sqlite3.Cursor's reading side."""

    def __init__(self, cur: Any, lastrowid: int | None) -> None:
        self._cur, self.lastrowid, self.rowcount = cur, lastrowid, cur.rowcount

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall()) if self._cur.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """sqlite3.Connection's slice the raw-SQL code uses, over one psycopg connection."""

    LEAST, GREATEST = "LEAST", "GREATEST"  # SQLite's scalar MIN and MAX

    def __init__(self, raw: Any, url: str, home: Path | None = None, reconnect: bool = False) -> None:
        self.raw, self.url, self.reconnect = raw, url, reconnect
        self.state_path = (home or Path(".")) / "state.db"  # the keys beside it stay in FAASCTL_HOME

    @property
    def keys_dir(self) -> Path:
        return self.state_path.parent / "keys"

    @property
    def in_transaction(self) -> bool:
        return int(self.raw.info.transaction_status) not in (0, 4)  # IDLE, UNKNOWN (the session is gone)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        psycopg = driver()
        if self.raw.closed and self.reconnect:  # the server ended the session (a restart): a new one
            self.raw = _open(self.url)  # the statement that met the end failed; this one runs
        cur = self.raw.cursor(row_factory=_rows)
        try:
            for statement in translate(sql):
                cur.execute(statement, params if "%" in statement else None)
        except psycopg.errors.UndefinedTable as exc:
            name = re.search(r'relation "([^"]+)"', str(exc))
            raise sqlite3.OperationalError(f"no such table: {name.group(1) if name else exc}") from exc
        except psycopg.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc).splitlines()[0]) from exc
        except psycopg.Error as exc:
            raise sqlite3.OperationalError((str(exc).splitlines() or [type(exc).__name__])[0]) from exc
        lastrowid = None
        if cur.description and cur.description[0].name in _RETURNING.values() and sql.lstrip()[:6].upper() == "INSERT":
            row = cur.fetchone()
            lastrowid = int(row[0]) if row else None
        return Cursor(cur, lastrowid)

    def cursor(self) -> PlainCursor:
        return PlainCursor(self)

    def close(self) -> None:
        self.raw.close()


class PlainCursor:
    """`conn.cursor()` as reads.newest_calls uses it: its rows (tuples already) go as they are."""

    row_factory: Any = None

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        return self.conn.execute(sql, params)


def connect(url: str, home: Path | None = None) -> PgConnection:
    """An autocommit connection (transactions are the statements' own, as with sqlite.prepare),
    opened again on its next use if the server ends it (SQLite's file never goes away; a
    long-running serve must outlive a database restart)."""
    return PgConnection(_open(url), url, home, reconnect=True)


def _open(url: str) -> Any:
    psycopg = driver()
    try:
        return psycopg.connect(conninfo(url), autocommit=True, options=OPTIONS, connect_timeout=10)
    except psycopg.Error as exc:
        raise open_error(exc, url) from exc


def wrap(driver_connection: Any, url: str) -> PgConnection:
    """The adapter over a connection the ORM engine holds (its transaction is the engine's)."""
    return PgConnection(driver_connection, url)


def tables(conn: PgConnection) -> set[str]:
    """The tables and triggers in the database's current schema (SQLite's sqlite_master names)."""
    return {str(r[0]) for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "UNION SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = current_schema()")}
