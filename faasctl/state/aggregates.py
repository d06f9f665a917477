"""Calls per function and status (table call_count, models.CallCount), kept by triggers.

Why triggers: every writer of `call` (the ORM, the invoke fast path, another faasctl
process) then keeps the counts right in the same transaction, and `fn list` reads a few
rows instead of counting a million calls (a count over an index still visits every entry:
about 60 ms per million here). Cost to a writer: one upsert per insert, two per status
change.

`install` is the one place the triggers are written: a new file gets them from engines.create,
a file made before them from migration 0004, which also recomputes the counts from `call`.
On PostgreSQL the same three triggers call one PL/pgSQL function (`PG_TRIGGERS`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

_ADD = ("INSERT INTO call_count (func_name, status, n) VALUES (new.func_name, new.status, 1) "
        "ON CONFLICT (func_name, status) DO UPDATE SET n = n + 1;")
_SUB = "UPDATE call_count SET n = n - 1 WHERE func_name = old.func_name AND status = old.status;"
TRIGGERS = {
    "call_count_insert": f"AFTER INSERT ON call BEGIN {_ADD} END",
    "call_count_update": ("AFTER UPDATE OF func_name, status ON call WHEN old.func_name IS NOT new.func_name "
                          f"OR old.status IS NOT new.status BEGIN {_SUB} {_ADD} END"),
    "call_count_delete": f"AFTER DELETE ON call BEGIN {_SUB} END",
}


_PG_ADD = ("INSERT INTO call_count (func_name, status, n) VALUES (NEW.func_name, NEW.status, 1) "
           "ON CONFLICT (func_name, status) DO UPDATE SET n = call_count.n + 1;")
PG_FUNCTION = ("CREATE OR REPLACE FUNCTION call_count_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "IF TG_OP <> 'INSERT' THEN UPDATE call_count SET n = n - 1 "
               "WHERE func_name = OLD.func_name AND status = OLD.status; END IF; "
               f"IF TG_OP <> 'DELETE' THEN {_PG_ADD} END IF; RETURN NULL; END $$")
PG_TRIGGERS = {
    "call_count_insert": "AFTER INSERT ON call FOR EACH ROW",
    "call_count_update": ("AFTER UPDATE OF func_name, status ON call FOR EACH ROW WHEN "
                          "(OLD.func_name IS DISTINCT FROM NEW.func_name OR OLD.status IS DISTINCT FROM NEW.status)"),
    "call_count_delete": "AFTER DELETE ON call FOR EACH ROW",
}


def install(execute: Callable[[str], object], dialect: str = "sqlite") -> None:
    """The triggers, and the counts recomputed from `call`, through `execute` (a sqlite3
    connection's, pg.py's, or Alembic's op.execute), inside the caller's write transaction."""
    if dialect == "postgresql":
        execute(PG_FUNCTION)
        for name, when in PG_TRIGGERS.items():
            execute(f"CREATE OR REPLACE TRIGGER {name} {when} EXECUTE FUNCTION call_count_trigger()")
    else:
        for name, body in TRIGGERS.items():
            execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
    execute("DELETE FROM call_count")
    execute("INSERT INTO call_count (func_name, status, n) "
            "SELECT func_name, status, count(*) FROM call GROUP BY func_name, status")


def counts(conn: sqlite3.Connection, function: str) -> dict[str, int]:
    """{status: calls} of one function (statuses with none left out)."""
    return {status: int(n) for status, n in conn.execute(
        "SELECT status, n FROM call_count WHERE func_name = ? AND n > 0", (function,))}
