"""The ORM engine and the sqlite3 fast path open the state file the same way (state/sqlite.py):
same pragmas, foreign keys enforced on both, and the fast path never imports the ORM."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from faasctl.errors import StateError
from faasctl.state import fastpath, sqlite
from faasctl.state.db import open_engine, transaction

CHECKED = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")


def settings(conn: sqlite3.Connection) -> dict[str, object]:
    return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in CHECKED}


def test_both_paths_set_the_same_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    engine = open_engine(path)
    with transaction(engine) as s:
        orm = settings(s.connection().connection.driver_connection)  # type: ignore[arg-type]
    fast = settings(fastpath.connect(path))
    assert orm == fast == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": sqlite.BUSY_TIMEOUT_S * 1000,
                           "foreign_keys": 1}
    engine.dispose()


def test_fast_path_enforces_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_engine(path).dispose()
    conn = fastpath.connect(path)
    with pytest.raises(StateError, match="FOREIGN KEY"), fastpath.write(conn):
        conn.execute("INSERT INTO function (name, runtime_name, version, digest, mode, handler, policy, placement,"
                     " pinned, created_at, updated_at) VALUES ('f', 'no-such-runtime', 0, '', 'command', '', '{}',"
                     " 'round-robin', '[]', 0, 0)")
    assert conn.execute("SELECT count(*) FROM function").fetchone()[0] == 0
    assert not conn.in_transaction


def test_orm_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "state.db")
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), transaction(engine) as s:
        s.execute(text("INSERT INTO function (name, runtime_name, version, digest, mode, handler, policy, placement,"
                       " pinned, created_at, updated_at) VALUES ('f', 'none', 0, '', 'command', '', '{}', 'r', '[]',"
                       " 0, 0)"))
    engine.dispose()


def test_fast_path_does_not_import_the_orm() -> None:
    code = ("import sys, faasctl.state.fastpath; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlmodel', 'sqlalchemy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
