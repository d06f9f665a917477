"""Which schema revision a state file is at, read with plain sqlite3 (no Alembic, no ORM).

migrate.ensure, run on every opening of the state file, reads it here: one SELECT of
`alembic_version`. A revision missing from REVISIONS was stamped by a newer faasctl
(`newer`). Files made before the migrations (no `alembic_version`) are recognised by
what each revision added (`detect`).

REVISIONS lists the migrations (state/migrations/versions) oldest first, with the tables
and columns each one adds; tests/unit/test_migrations.py keeps it equal to them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..errors import StateError

# revision -> (tables and triggers it adds, {table: columns it adds}); "0001": the first release
REVISIONS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "0001": (("node", "runtime", "function", "function_version", "deployment", "call"), {}),
    "0002": (("node_health",), {}),
    "0003": (("node_drain",), {}),
    "0004": (("call_count", "call_count_insert", "call_count_update", "call_count_delete"), {}),
    "0005": (("function_config",), {}),
    "0006": ((), {"function": ("kind",), "function_version": ("kind",)}),
    "0007": ((), {"runtime": ("runner",)}),
    "0008": (("function_alias", "node_version"),
             {"function": ("keep_versions",), "function_version": ("runtime_name", "handler", "policy"),
              "call": ("alias",)}),
    "0009": (("operator", "node_operators"), {}),
}
HEAD = "0009"
TABLE = "alembic_version"
STAMP_DDL = (f"CREATE TABLE IF NOT EXISTS {TABLE} (version_num VARCHAR(32) NOT NULL, "
             "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")  # as Alembic makes it


def read(conn: Any) -> str | None:
    """The stamped revision, or None for a file without one (made before migrations, or empty)."""
    try:
        row = conn.execute(f"SELECT version_num FROM {TABLE}").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else str(row[0])


def stamp(conn: Any, revision: str) -> None:
    """Record `revision` (inside the caller's write transaction)."""
    conn.execute(STAMP_DDL)
    conn.execute(f"DELETE FROM {TABLE}")
    conn.execute(f"INSERT INTO {TABLE} (version_num) VALUES (?)", (revision,))


def detect(conn: sqlite3.Connection) -> str | None:
    """The newest revision whose changes, and all before it, an unstamped file has; None
    for a file with none of the first release's tables (an empty file)."""
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    found = None
    for revision, (added, columns) in REVISIONS.items():
        if not set(added) <= tables:
            break
        if any(not set(cols) <= {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
               for table, cols in columns.items()):
            break
        found = revision
    return found


def newer(path: Path | str, revision: str) -> StateError:
    what = f"state database {path}" if isinstance(path, str) else f"state file {path}"
    return StateError(f"{what} was made by a newer faasctl (revision {revision}); "
                      f"this one knows revisions up to {HEAD}",
                      "upgrade faasctl (pip install -U faasctl, or the newer single file)")
