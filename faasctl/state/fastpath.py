"""The invoke hot path over the state file with plain sqlite3 (no ORM import).

It touches three tables in fixed ways: read what is needed to place a call, insert the
call, record its outcome. Column names are those of `models`; tests/unit checks it.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
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
    LEAST, GREATEST = "MIN", "MAX"  # SQLite's scalar two-argument forms (pg.py has its own)

    @property
    def keys_dir(self) -> Path:
        return self.state_path.parent / "keys"


def connect(path: Path, shared: bool = False, url: str = "") -> StateConnection:
    """A connection to the state file; `shared` lets threads other than this one use it
    (the group-commit writer does: whichever thread leads, one at a time). With a
    PostgreSQL `url`, one to that database instead (pg.py: the same interface)."""
    if url:
        from . import pg

        return pg.connect(url, path.parent)  # type: ignore[return-value]  # sqlite3's slice, typed alike
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


def target(conn: StateConnection, function: str, version: int = 0, alias: str = "",
           draw: Callable[[], float] = random.random) -> dict[str, Any]:
    """The function row as the called version sees it, every node holding that version, and
    the operator's keys. The version: `version`, else the alias's (`alias`, else `live` if
    set), its canary drawn per call with `draw`, else the current one."""
    try:
        fn = conn.execute("SELECT * FROM function WHERE name=?", (function,)).fetchone()
        if fn is None:
            raise NotFound(f"no function named {function!r}",
                           "see `faasctl fn list`, or deploy it with `faasctl fn deploy`")
        fn = dict(fn)
        fn["alias"] = ""
        if not version:
            version = _aliased(conn, fn, alias, draw)
        if version and version != fn["version"]:
            _as_version(conn, fn, version)
        nodes = _holders(conn, function, fn["digest"])
    except sqlite3.OperationalError as exc:
        raise StateError(f"state file error: {exc}", "run any faasctl command that changes state to create it") from exc
    identity = keyfiles.read_cached(conn.keys_dir) or keyfiles.migrate(conn, conn.keys_dir)
    return {"function": fn, "nodes": [dict(n) for n in nodes], "identity": identity}


def _aliased(conn: StateConnection, fn: dict[str, Any], alias: str, draw: Callable[[], float]) -> int:
    """The version an alias (or `live`) names for this call; 0: none (a file older than
    aliases has none)."""
    try:
        row = conn.execute("SELECT version, canary_version, canary_weight FROM function_alias "
                           "WHERE function_name=? AND name=?", (fn["name"], alias or "live")).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        row = None
    if row is None:
        if alias:
            raise NotFound(f"function {fn['name']} has no alias {alias!r}", f"see `faasctl fn versions {fn['name']}`")
        return 0
    fn["alias"] = alias or "live"
    if row["canary_version"] and draw() < float(row["canary_weight"]):
        return int(row["canary_version"])
    return int(row["version"])


def _as_version(conn: StateConnection, fn: dict[str, Any], version: int) -> None:
    """Make `fn` describe `version`: its digest, kind and policy (placement stays the function's)."""
    row = conn.execute("SELECT digest, kind, policy FROM function_version WHERE function_name=? AND version=?",
                       (fn["name"], version)).fetchone()
    if row is None:
        raise NotFound(f"function {fn['name']} has no version {version}", f"see `faasctl fn versions {fn['name']}`")
    fn["version"], fn["digest"], fn["kind"] = version, row["digest"], row["kind"]
    if row["policy"] not in ("", "{}"):
        fn["policy"] = row["policy"]


HOLDERS = "SELECT n.*{} FROM node n JOIN ({}) d ON d.node_name = n.name{} ORDER BY n.name"
# Nodes hold a version as their current one (deployment) or loaded beside it (node_version).
HELD = ("SELECT node_name FROM deployment WHERE function_name=:f AND digest=:d UNION "
        "SELECT node_name FROM node_version WHERE function_name=:f AND digest=:d")
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
    joins, held = dict(OPTIONAL_JOINS), HELD
    for _ in range(len(OPTIONAL_JOINS) + 2):  # bounded: each retry drops one missing table
        columns = "".join(c for c, _ in joins.values())
        try:
            return conn.execute(HOLDERS.format(columns, held, "".join(j for _, j in joins.values())),
                                {"f": function, "d": digest}).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table: node_version" in str(exc) and held == HELD:
                held = HELD.split(" UNION ")[0]
                continue
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


def add_call(conn: sqlite3.Connection, uid: str, fn: dict[str, Any], params: Any, is_async: bool,
             created_at: float | None = None) -> int:
    """Insert a PENDING call inside the caller's transaction; its number."""
    cur = conn.execute(
        "INSERT INTO call (uid, func_name, version, alias, params, status, result, error, log, node, start_kind,"
        " is_async, created_at) VALUES (?,?,?,?,?, 'PENDING', '', '', '', '', '', ?, ?)",
        (uid, fn["name"], fn["version"], fn.get("alias", ""), json.dumps(params), bool(is_async),
         time.time() if created_at is None else created_at))
    return int(cur.lastrowid or 0)


def set_call(conn: sqlite3.Connection, call_num: int, values: dict[str, Any]) -> None:
    """Record a call's outcome (the fields of CALL_RESULT_FIELDS in `values`) inside the caller's transaction."""
    fields = [f for f in CALL_RESULT_FIELDS if f in values]
    if fields:
        conn.execute(f"UPDATE call SET {', '.join(f + '=?' for f in fields)} WHERE call_num=?",
                     [values[f] for f in fields] + [call_num])
