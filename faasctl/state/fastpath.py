"""The invoke hot path over the state file with plain sqlite3 (no ORM import).

It touches three tables in fixed ways: read what is needed to place a call, insert the
call, record its outcome. Column names are those of `models`; tests/unit checks it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..config import PRIVATE_DIR, PRIVATE_FILE, tighten
from ..errors import NotFound, StateError
from . import keyfiles, sqlite

CALL_RESULT_FIELDS = ("status", "result", "error", "log", "node", "start_kind", "queue_ms", "start_ms",
                      "run_ms", "finished_at")


class StateConnection(sqlite3.Connection):
    """A connection that knows its state file, so the key folder beside it can be found."""

    state_path: Path

    @property
    def keys_dir(self) -> Path:
        return self.state_path.parent / "keys"


def connect(path: Path, shared: bool = False) -> StateConnection:
    """A connection to the state file; `shared` lets threads other than this one use it
    (the group-commit writer does: whichever thread leads, one at a time)."""
    if not path.exists():
        raise NotFound(f"no state file at {path}", "deploy a function first: faasctl fn deploy NAME PATH --runtime R")
    tighten(path.parent, PRIVATE_DIR)  # what an older faasctl made 0755/0644: two stats when private
    tighten(path, PRIVATE_FILE)
    try:
        conn = sqlite3.connect(str(path), timeout=sqlite.BUSY_TIMEOUT_S, factory=StateConnection,
                               check_same_thread=not shared)
        conn.state_path = path
        sqlite.prepare(conn)
    except sqlite3.Error as exc:
        raise sqlite.open_error(exc, path, "check the path and its permissions") from exc
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        conn.execute(sqlite.BEGIN)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT (full disk) leaves it open; keep the first error
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise sqlite.write_error(exc, getattr(conn, "state_path", Path("state.db")).parent) from exc


def target(conn: StateConnection, function: str) -> dict[str, Any]:
    """The function row, every node that holds its current version, the operator's keys."""
    try:
        fn = conn.execute("SELECT * FROM function WHERE name=?", (function,)).fetchone()
        if fn is None:
            raise NotFound(f"no function named {function!r}",
                           "see `faasctl fn list`, or deploy it with `faasctl fn deploy`")
        nodes = _holders(conn, function, fn["digest"])
    except sqlite3.OperationalError as exc:
        raise StateError(f"state file error: {exc}", "run any faasctl command that changes state to create it") from exc
    identity = keyfiles.read_cached(conn.keys_dir) or keyfiles.migrate(conn, conn.keys_dir)
    return {"function": dict(fn), "nodes": [dict(n) for n in nodes], "identity": identity}


HOLDERS = ("SELECT n.*{} FROM node n JOIN deployment d ON d.node_name = n.name{} "
           "WHERE d.function_name=? AND d.digest=? ORDER BY n.name")
# Tables joined in when the file has them (each was added after `node`): core.health's
# suspect marks, and models.NodeDrain (`drained` is 1 for a drained node, else 0).
OPTIONAL_JOINS = {
    "node_health": (", h.failures, h.down_since, h.last_error, h.skip_until, h.probing_until",
                    " LEFT JOIN node_health h ON h.node = n.name"),
    "node_drain": (", (r.node IS NOT NULL) AS drained", " LEFT JOIN node_drain r ON r.node = n.name"),
}


def _holders(conn: StateConnection, function: str, digest: str) -> list[sqlite3.Row]:
    """The nodes holding `digest`, with their health (core.health) and drain mark joined in.

    A file older than one of those tables lacks it (only create_all makes them, and
    `invoke` never runs it): that join is left out, so each such node reads as healthy
    and in service."""
    joins = dict(OPTIONAL_JOINS)
    for _ in range(len(OPTIONAL_JOINS) + 1):  # bounded: each retry drops one missing table
        columns = "".join(c for c, _ in joins.values())
        try:
            return conn.execute(HOLDERS.format(columns, "".join(j for _, j in joins.values())),
                                (function, digest)).fetchall()
        except sqlite3.OperationalError as exc:
            missing = next((t for t in joins if f"no such table: {t}" in str(exc)), None)
            if missing is None:
                raise
            del joins[missing]
    raise StateError("state file error: tables missing", "run any faasctl command that changes state")


def insert_call(conn: sqlite3.Connection, uid: str, fn: dict[str, Any], params: Any, is_async: bool) -> int:
    """A new PENDING call in a transaction of its own (core.invoke batches it instead: `add_call`)."""
    with write(conn):
        return add_call(conn, uid, fn, params, is_async)


def update_call(conn: sqlite3.Connection, call_num: int, values: dict[str, Any]) -> None:
    if not any(f in values for f in CALL_RESULT_FIELDS):
        return
    with write(conn):
        set_call(conn, call_num, values)


def add_call(conn: sqlite3.Connection, uid: str, fn: dict[str, Any], params: Any, is_async: bool) -> int:
    """Insert a PENDING call inside the caller's transaction; its number."""
    cur = conn.execute(
        "INSERT INTO call (uid, func_name, version, params, status, result, error, log, node, start_kind,"
        " is_async, created_at) VALUES (?,?,?,?, 'PENDING', '', '', '', '', '', ?, ?)",
        (uid, fn["name"], fn["version"], json.dumps(params), int(is_async), time.time()))
    return int(cur.lastrowid or 0)


def set_call(conn: sqlite3.Connection, call_num: int, values: dict[str, Any]) -> None:
    """Record a call's outcome (the fields of CALL_RESULT_FIELDS in `values`) inside the caller's transaction."""
    fields = [f for f in CALL_RESULT_FIELDS if f in values]
    if fields:
        conn.execute(f"UPDATE call SET {', '.join(f + '=?' for f in fields)} WHERE call_num=?",
                     [values[f] for f in fields] + [call_num])
