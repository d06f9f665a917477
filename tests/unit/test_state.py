"""The state file: sqlmodel tables and the sqlite3 fast path agree; writes serialise."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from faasctl.state import fastpath, keyfiles
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Call, Deployment, Function, Node, Runtime


def seed(path: Path) -> None:
    engine = open_engine(path)
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


def test_fast_path_reads_and_writes_the_orm_tables(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    seed(path)
    conn = fastpath.connect(path)
    target = fastpath.target(conn, "dice")
    assert target["function"]["name"] == "dice" and [n["name"] for n in target["nodes"]] == ["n1"]
    assert target["identity"] == {"public": "p", "secret": "s"}
    num = fastpath.insert_call(conn, "u1", target["function"], {"roll": "4d6"}, False)
    fastpath.update_call(conn, num, {"status": "DONE", "result": "[1]", "node": "n1", "start_kind": "warm",
                                     "run_ms": 1.5, "finished_at": 2.0})
    with transaction(open_engine(path)) as s:
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


def test_write_transactions_are_immediate(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    seed(path)
    holder = fastpath.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(str(path), timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
    else:
        raise AssertionError("a second writer got in")
    holder.execute("ROLLBACK")
