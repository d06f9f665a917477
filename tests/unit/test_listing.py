"""The read-only commands' plain-sqlite3 reads (core/listing.py) against the ORM's view
and against the computations they replaced: same rows, same counts, same nearest-rank
percentiles; the call counts the triggers keep (state/aggregates.py) stay right through
inserts, status changes and deletes, and a file made before them gets them once. On
SQLite and PostgreSQL (`backend`) alike, except where a test is about SQLite's plans."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from faasctl_agent.protocol import FAILED
from sqlmodel import select

from faasctl.config import Settings
from faasctl.core import listing
from faasctl.core.context import Context
from faasctl.state import aggregates, fastpath, schemagen
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Call, Deployment, Function, Node, Runtime
from tests.support.backends import Backend


def test_schema_module_matches_the_models() -> None:
    assert schemagen.TARGET.read_text() == schemagen.render(), \
        "state/schema.py is stale: run `python -m faasctl.state.schemagen`"


def _state(tmp_path: Path, calls: int = 300, url: str = "") -> Context:
    ctx = Context(Settings(home=tmp_path, state_url=url))
    rng = random.Random(5)
    with transaction(ctx.engine) as s:
        s.add(Runtime(name="python", image="img"))
        s.add(Node(name="n1", zmq_endpoint="tcp://127.0.0.1:1", server_key="k", labels={"zone": "eu"}))
    with transaction(ctx.engine) as s:
        for name in ("a", "b", "quiet"):
            s.add(Function(name=name, runtime_name="python", version=1, digest="d" * 64, policy={"preload": "none"},
                           pinned=["zone=eu"] if name == "a" else []))
        s.add(Deployment(function_name="a", node_name="n1", digest="d" * 64, version=1))
        for i in range(calls):
            status = rng.choice(["DONE", "DONE", "ERROR", "TIMEOUT", "LOST", "PENDING"])
            s.add(Call(uid=f"u{i}", func_name=rng.choice("ab"), status=status, node="n1", is_async=i % 2 == 0,
                       run_ms=None if status == "PENDING" else rng.random() * 100, params='{"i": 1}'))
    return ctx


def _old_functions(ctx: Context, window: int) -> dict[str, tuple[int, int, float | None, float | None]]:
    """What `fn list` computed before: counts over every call, nearest-rank over the newest `window`."""
    out = {}
    with transaction(ctx.engine) as s:
        every = list(s.exec(select(Call).order_by(Call.call_num)))  # type: ignore[arg-type]
        for fn in s.exec(select(Function)):
            mine = [c for c in every if c.func_name == fn.name]
            counts = Counter(c.status for c in mine)
            times = sorted(c.run_ms for c in reversed(mine) if c.run_ms is not None)[:0] or sorted(
                [c.run_ms for c in reversed(mine) if c.run_ms is not None][:window])

            def pick(q: float, times: list[float] = times) -> float | None:
                return times[min(len(times) - 1, int(q * len(times)))] if times else None

            out[fn.name] = (sum(counts.values()), sum(v for k, v in counts.items() if k in FAILED), pick(0.5),
                            pick(0.99))
    return out


@pytest.mark.parametrize("window", [1000, 7])
def test_counts_and_percentiles_as_before(backend: Backend, monkeypatch: pytest.MonkeyPatch, window: int) -> None:
    ctx = _state(backend.home, url=backend.url)
    monkeypatch.setattr(listing, "WINDOW", window)
    rows = listing.all_functions(ctx)
    assert {r["name"]: (r["calls"], r["errors"], r["p50_ms"], r["p99_ms"]) for r in rows} == _old_functions(ctx, window)
    assert [r["nodes"] for r in rows] == [["n1"], [], []]
    assert rows[0]["policy"] == {"preload": "none"} and rows[0]["pinned"] == ["zone=eu"] and rows[1]["pinned"] == []
    assert rows[0]["functionName"] == "a" and rows[0]["runtimeName"] == "python"


def test_rows_are_the_orm_rows(backend: Backend) -> None:
    ctx = _state(backend.home, calls=40, url=backend.url)
    with transaction(ctx.engine) as s:
        runtimes = [r.model_dump() for r in s.exec(select(Runtime).order_by(Runtime.name))]
        nodes = [n.model_dump() for n in s.exec(select(Node).order_by(Node.name))]
        calls = [c.model_dump() for c in s.exec(select(Call).order_by(Call.call_num.desc()))]  # type: ignore[union-attr]
    assert listing.all_runtimes(ctx) == runtimes
    # keys in the models' field order (the ORM's model_dump of a loaded row has them in no set order)
    assert list(listing.all_runtimes(ctx)[0]) == list(Runtime.model_fields)
    assert listing.all_nodes(ctx) == nodes
    from faasctl.core.callview import call_view

    assert listing.list_calls(ctx, limit=None) == [call_view(c) for c in calls]
    assert listing.list_calls(ctx, "a", "error", limit=3) == [call_view(c) for c in calls
                                                              if c["func_name"] == "a" and c["status"] == "ERROR"][:3]
    assert listing.get_call(ctx, 3, refresh=False) == call_view(calls[-3])


def _counted(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    return {(f, s): n for f, s, n in conn.execute("SELECT func_name, status, n FROM call_count WHERE n > 0")}


def _truth(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    return {(f, s): n for f, s, n in conn.execute("SELECT func_name, status, count(*) FROM call GROUP BY 1, 2")}


def test_triggers_keep_counts_through_every_writer(backend: Backend) -> None:
    ctx = _state(backend.home, calls=50, url=backend.url)
    conn = ctx.reader
    assert _counted(conn) == _truth(conn)
    fn = {"name": "a", "version": 1}
    num = fastpath.insert_call(conn, "new", fn, {}, False)  # the invoke fast path
    fastpath.update_call(conn, num, {"status": "DONE", "run_ms": 1.0})
    fastpath.update_call(conn, num, {"result": "same status, no change"})
    with transaction(ctx.engine) as s:  # the ORM
        call = s.get(Call, 1)
        assert call is not None
        call.status, call.func_name = "LOST", "b"
        s.add(call)
    conn.execute("DELETE FROM call WHERE call_num = 2")
    assert _counted(conn) == _truth(conn)


def test_a_file_without_the_counts_gets_them_once(tmp_path: Path) -> None:
    ctx = _state(tmp_path, calls=30)
    conn = ctx.reader
    for name in aggregates.TRIGGERS:  # as a file an older faasctl made: calls, no triggers
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP TABLE call_count")
    conn.execute("UPDATE alembic_version SET version_num = '0003'")  # the revision before them: 0004 adds them
    fastpath.insert_call(conn, "old", {"name": "a", "version": 1}, {}, False)
    fresh = Context(Settings(home=tmp_path))
    assert {r["name"]: r["calls"] for r in listing.all_functions(fresh)} == {"a": _calls(conn, "a"),
                                                                            "b": _calls(conn, "b"), "quiet": 0}
    assert _counted(conn) == _truth(conn)
    open_engine(tmp_path / "state.db")  # the ORM's opening finds them there: nothing recomputed
    assert _counted(conn) == _truth(conn)


def test_a_database_without_the_counts_gets_them_once(pg_url: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """PostgreSQL: a database at revision 0003 (no call_count, no triggers) is migrated
    through 0004-0009 by the same Alembic steps, and the counts are computed from `call`."""
    ctx = _state(tmp_path, calls=30, url=pg_url)
    conn = ctx.reader
    for name in aggregates.PG_TRIGGERS:
        conn.execute(f"DROP TRIGGER {name} ON call")
    conn.execute("DROP TABLE call_count")
    conn.execute("UPDATE alembic_version SET version_num = '0003'")
    fastpath.insert_call(conn, "old", {"name": "a", "version": 1}, {}, False)
    fresh = Context(Settings(home=tmp_path, state_url=pg_url))
    assert {r["name"]: r["calls"] for r in listing.all_functions(fresh)} == {"a": _calls(conn, "a"),
                                                                            "b": _calls(conn, "b"), "quiet": 0}
    assert "migrated the state database" in capsys.readouterr().err
    assert _counted(conn) == _truth(conn)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0009"
    fastpath.insert_call(conn, "new", {"name": "quiet", "version": 1}, {}, False)  # the triggers are back
    assert _counted(conn) == _truth(conn)


def _calls(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute("SELECT count(*) FROM call WHERE func_name = ?", (name,)).fetchone()[0])


def test_reads_use_indexes_not_scans(tmp_path: Path) -> None:
    """The queries a million calls would make slow: none may scan the call table."""
    conn = _state(tmp_path, calls=5).reader
    plans = [
        "SELECT run_ms FROM call WHERE func_name = 'a' AND run_ms IS NOT NULL ORDER BY call_num DESC LIMIT 1000",
        "SELECT call_num, node FROM call WHERE status IN ('PENDING', 'RUNNING') AND node != '' "
        "ORDER BY call_num DESC LIMIT 20",
        "SELECT status, n FROM call_count WHERE func_name = 'a' AND n > 0",
    ]
    for sql in plans:
        detail = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN call " not in detail + " " and "USING" in detail, (sql, detail)
