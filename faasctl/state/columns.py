"""Columns added to a table after state files were made with it, added to such files in place.

create_all makes missing tables but never alters one, and the read-only commands do not
run it at all. A column added later therefore carries a server default in models.py;
schemagen lists those (schema.ADDED, with their DDL) and `ensure` adds whichever a file
lacks, in one write transaction, once. A file that has them all costs one PRAGMA per
such table.
"""

from __future__ import annotations

import sqlite3

from . import schema
from .fastpath import write


def _missing(conn: sqlite3.Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, added in schema.ADDED.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if have:  # a table the file lacks altogether is create_all's to make
            out[table] = [ddl for name, ddl in added.items() if name not in have]
    return {t: ddls for t, ddls in out.items() if ddls}


def ensure(conn: sqlite3.Connection) -> None:
    if not _missing(conn):
        return
    with write(conn):
        for table, ddls in _missing(conn).items():  # again: another process may have done it
            for ddl in ddls:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {ddl}")
