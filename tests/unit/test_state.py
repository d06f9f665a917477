"""The state file: sqlmodel tables and the sqlite3 fast path agree; writes serialise.
On PostgreSQL too (`backend`), where state/pg.py gives the fast path the same interface."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from faasctl.state import fastpath, keyfiles
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Call, Deployment, Function, Node, Runtime
from tests.support.backends import Backend


def seed(path: Path, url: str = "") -> None:
    engine = open_engine(path, url)
    with transaction(engine) as s:
        s.add(Runtime(name="python", image="img"))
        s.add(Node(name="n1", zmq_endpoint="tcp://127.0.0.1:1", server_key="k"))
    with transaction(engine) as s:
        s.add(Function(name="dice", runtime_name="python", version=1, digest="d" * 64))
        s.add(Deployment(function_name="dice", node_name="n1", digest="d" * 64, version=1))
    keyfiles.store(path.parent / "keys", {"public": "p", "secret": "s"})


def test_pragmas(tmp_path: Path) -> None:
    seed(tmp_path / "state.db")
    conn = fastpath.connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_fast_path_reads_and_writes_the_orm_tables(backend: Backend) -> None:
    path = backend.path
    seed(path, backend.url)
    conn = backend.connect()
    target = fastpath.target(conn, "dice")
    assert target["function"]["name"] == "dice" and [n["name"] for n in target["nodes"]] == ["n1"]
    assert target["identity"] == {"public": "p", "secret": "s"}
    num = fastpath.insert_call(conn, "u1", target["function"], {"roll": "4d6"}, False)
    fastpath.update_call(conn, num, {"status": "DONE", "result": "[1]", "node": "n1", "start_kind": "warm",
                                     "run_ms": 1.5, "finished_at": 2.0})
    with transaction(backend.engine()) as s:
        call = s.get(Call, num)
        assert call is not None
        assert (call.status, call.result, call.start_kind, call.run_ms) == ("DONE", "[1]", "warm", 1.5)
        assert json.loads(call.params) == {"roll": "4d6"}


def test_missing_state_is_a_clear_not_found(tmp_path: Path) -> None:
    from faasctl.errors import NotFound

    try:
        fastpath.connect(tmp_path / "nope.db")
    except NotFound as exc:
        assert "fn deploy" in exc.hint
    else:
        raise AssertionError("expected NotFound")


def test_write_transactions_are_immediate(backend: Backend) -> None:
    """A writer excludes every other from BEGIN to COMMIT: SQLite's write lock, or the
    advisory lock state/pg.py takes on PostgreSQL, for the raw path and the ORM alike."""
    seed(backend.path, backend.url)
    holder = backend.connect()
    holder.execute("BEGIN IMMEDIATE")
    other = backend.connect()
    other.execute("SET lock_timeout = 100" if backend.pg else "PRAGMA busy_timeout = 100")
    with pytest.raises(sqlite3.OperationalError, match="locked|lock timeout"):
        other.execute("BEGIN IMMEDIATE")
    if other.in_transaction:
        other.execute("ROLLBACK")
    holder.execute("ROLLBACK")
    other.execute("BEGIN IMMEDIATE")  # free again once the holder is done
    other.execute("ROLLBACK")


def test_the_orm_waits_for_a_raw_writer(backend: Backend) -> None:
    """The ORM's transactions take the same lock (engines.py), so a read-then-write through
    it cannot interleave with the fast path's writes."""
    seed(backend.path, backend.url)
    engine = backend.engine()
    holder = backend.connect()
    holder.execute("BEGIN IMMEDIATE")
    with engine.connect() as conn:
        # on the driver's connection: through the ORM, the statement itself would wait for the lock
        conn.connection.driver_connection.execute("SET lock_timeout = 100" if backend.pg
                                                  else "PRAGMA busy_timeout = 100")
        from sqlalchemy.exc import OperationalError

        with pytest.raises(OperationalError, match="locked|lock timeout"), conn.begin():
            pass
    holder.execute("ROLLBACK")
    engine.dispose()
