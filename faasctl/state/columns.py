"""Columns added to tables after files were made with them: added in place, once.

`create_all` makes missing tables but never alters an existing one, and the readers
(reads.py) select every column the models name; so a state file an older faasctl made
gets each column listed here, with its default and any backfill, the first time a
newer faasctl opens it (a PRAGMA per table when it already has them).
"""

from __future__ import annotations

import sqlite3

from .fastpath import write

# (table, column, column DDL, backfill SQL run once right after the column is added)
ADDED: tuple[tuple[str, str, str, str], ...] = (
    ("function", "kind", "VARCHAR NOT NULL DEFAULT 'command'",
     "UPDATE function SET kind = 'native' WHERE mode = 'handler'"),
    ("function_version", "kind", "VARCHAR NOT NULL DEFAULT 'command'",
     "UPDATE function_version SET kind = COALESCE((SELECT f.kind FROM function f WHERE f.name = function_name "
     "AND f.digest = function_version.digest), 'command')"),
    # every runtime made before runtimes named their runner ran the Python one
    ("runtime", "runner", "VARCHAR NOT NULL DEFAULT 'python'", "UPDATE runtime SET runner = 'python'"),
    # issue 14: versions carry what a rollback needs; before, only the function row had it
    ("function", "keep_versions", "INTEGER NOT NULL DEFAULT 5", ""),
    ("function_version", "runtime_name", "VARCHAR NOT NULL DEFAULT ''",
     "UPDATE function_version SET runtime_name = COALESCE((SELECT f.runtime_name FROM function f "
     "WHERE f.name = function_name), '')"),
    ("function_version", "handler", "VARCHAR NOT NULL DEFAULT ''",
     "UPDATE function_version SET handler = COALESCE((SELECT f.handler FROM function f "
     "WHERE f.name = function_name), '')"),
    ("function_version", "policy", "VARCHAR NOT NULL DEFAULT '{}'",
     "UPDATE function_version SET policy = COALESCE((SELECT f.policy FROM function f "
     "WHERE f.name = function_name), '{}')"),
    ("call", "alias", "VARCHAR NOT NULL DEFAULT ''", ""),
)


def _missing(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    have: dict[str, set[str]] = {}
    for table, *_ in ADDED:
        if table not in have:
            have[table] = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
    # a table not made yet (empty set) is left to create_all, which makes it whole
    return [a for a in ADDED if have[a[0]] and a[1] not in have[a[0]]]


def ensure(conn: sqlite3.Connection) -> None:
    if not _missing(conn):
        return
    with write(conn):
        for table, column, ddl, backfill in _missing(conn):  # again inside: another process may have done it
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")
            if backfill:
                conn.execute(backfill)
