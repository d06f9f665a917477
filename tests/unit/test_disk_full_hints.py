"""A full state file is reported as a full disk, never as a lock held by someone else.

SQLite's own "database or disk is full" (SQLITE_FULL) is produced for real here with
`PRAGMA max_page_count`, which makes the file unable to grow exactly as a full disk does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from faasctl.core import artifacts
from faasctl.errors import LOCK_HINT, StateError, storage_hint
from faasctl.state import db, fastpath
from faasctl.state.models import Call

FN = {"name": "dice", "version": 1}


def capped(conn: object, extra_pages: int = 0) -> None:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]  # type: ignore[attr-defined]
    conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")  # type: ignore[attr-defined]


def test_fast_path_insert_into_a_full_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db.open_engine(path).dispose()
    conn = fastpath.connect(path)
    capped(conn)
    with pytest.raises(StateError) as full:
        fastpath.insert_call(conn, "u1", FN, {"blob": "x" * 200_000}, False)
    assert "database or disk is full" in full.value.message
    assert "is full" in full.value.hint and str(tmp_path) in full.value.hint and "lock" not in full.value.hint
    assert not conn.in_transaction, "a failed write must not leave the connection inside a transaction"
    conn.execute("PRAGMA max_page_count = 1073741823")  # room again: the same connection works
    assert fastpath.insert_call(conn, "u2", FN, {"roll": "1d6"}, False) >= 1


def test_orm_transaction_on_a_full_state_file(tmp_path: Path) -> None:
    engine = db.open_engine(tmp_path / "state.db")
    with pytest.raises(StateError) as full, db.transaction(engine) as session:
        capped(session.connection().connection.driver_connection)
        session.execute(text("SELECT 1"))
        for n in range(200):
            session.add(Call(uid=f"u{n}", func_name="dice", params="x" * 10_000))
    assert "database or disk is full" in full.value.message
    assert "is full" in full.value.hint and "lock" not in full.value.hint
    engine.dispose()


def test_hints_follow_the_cause(tmp_path: Path) -> None:
    assert storage_hint("database is locked", tmp_path, "other") == LOCK_HINT
    assert "is full" in storage_hint("database or disk is full", tmp_path, LOCK_HINT)
    assert storage_hint("no such table: call", tmp_path, "other") == "other"


def test_a_failed_cache_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A cache path that cannot be made (its folder is a file): one clear error, nothing left."""
    (tmp_path / "artifacts").write_text("not a folder")
    with pytest.raises(StateError, match="cannot write .*x.tar.gz"):
        artifacts.store(tmp_path / "artifacts" / "x.tar.gz", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts"]
