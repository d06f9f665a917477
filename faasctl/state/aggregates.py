"""Calls per function and status (table call_count, models.CallCount), kept by triggers.

Why triggers: every writer of `call` (the ORM, the invoke fast path, another faasctl
process) then keeps the counts right in the same transaction, and `fn list` reads a few
rows instead of counting a million calls (a count over an index still visits every entry:
about 60 ms per million here). Cost to a writer: one upsert per insert, two per status
change.

`ensure` is the one place a file gets them: a file made before them (or by a faasctl
that had the table but not the triggers) gets the table, the triggers and counts
recomputed from `call`, in one write transaction, once.
"""

from __future__ import annotations

import sqlite3

from . import schema
from .fastpath import write

_ADD = ("INSERT INTO call_count (func_name, status, n) VALUES (new.func_name, new.status, 1) "
        "ON CONFLICT (func_name, status) DO UPDATE SET n = n + 1;")
_SUB = "UPDATE call_count SET n = n - 1 WHERE func_name = old.func_name AND status = old.status;"
TRIGGERS = {
    "call_count_insert": f"AFTER INSERT ON call BEGIN {_ADD} END",
    "call_count_update": ("AFTER UPDATE OF func_name, status ON call WHEN old.func_name IS NOT new.func_name "
                          f"OR old.status IS NOT new.status BEGIN {_SUB} {_ADD} END"),
    "call_count_delete": f"AFTER DELETE ON call BEGIN {_SUB} END",
}


def _missing(conn: sqlite3.Connection) -> set[str]:
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='call'")}
    return set(TRIGGERS) - have


def ensure(conn: sqlite3.Connection) -> None:
    """Make sure the file keeps the counts; a query of sqlite_master when it already does."""
    if not _missing(conn):
        return
    with write(conn):
        if not _missing(conn):  # another process did it meanwhile
            return
        conn.execute(schema.CREATE["call_count"])
        for name, body in TRIGGERS.items():
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        conn.execute("DELETE FROM call_count")
        conn.execute("INSERT INTO call_count (func_name, status, n) "
                     "SELECT func_name, status, count(*) FROM call GROUP BY func_name, status")


def counts(conn: sqlite3.Connection, function: str) -> dict[str, int]:
    """{status: calls} of one function (statuses with none left out)."""
    return {status: int(n) for status, n in conn.execute(
        "SELECT status, n FROM call_count WHERE func_name = ? AND n > 0", (function,))}
