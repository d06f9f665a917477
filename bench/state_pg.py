"""The state on PostgreSQL against SQLite (issue 15), each next to a raw baseline of its own.

Part 1, no agent: what a call costs the state, the way core invoke() pays it: the fast
path's read of the target (`fastpath.target`), the PENDING record and the durable result
through the process's group commit. Beside it, the same work done bare (the raw
baseline): one SELECT of the function and two committed transactions (INSERT, UPDATE)
on a bare driver connection, sqlite3 with WAL and synchronous=FULL, or psycopg. The ways
take turns in blocks, round after round (the machine is shared and noisy).

    PYTHONPATH=.:agent .venv/bin/python bench/state_pg.py --sqlite-only   # SQLite alone
    PYTHONPATH=.:agent .venv/bin/python bench/state_pg.py                 # and PostgreSQL, and invoke()

--sqlite-only touches nothing of this branch's new API, so run it with PYTHONPATH on an
older checkout to compare the SQLite hot path before and after (alternate the runs).

Part 2 (not with --sqlite-only): a local node and a warm function per back end; core
invoke() p50 on the SQLite state and on the PostgreSQL one, in alternating blocks, next
to the raw attach round trip (a line through a python echo loop in a container). The
PostgreSQL server is a throwaway one from Debian's binaries (tests/support/pgserver.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from benchlib import HANDLER, ROOT, WARM_FN, Row, log, pct, platform_up, report
from measure import raw_roundtrip

BLOCK = 100  # calls of one way before the next way's turn
FN = "bench"
FINAL = {"status": "DONE", "result": '"ok"', "node": "local", "start_kind": "warm", "queue_ms": 0.01,
         "start_ms": 0.0, "run_ms": 0.05, "finished_at": 0.0}


def seed(home: Path, url: str = "") -> None:
    from faasctl.state.db import open_engine, transaction
    from faasctl.state.models import Function, Runtime

    engine = open_engine(home / "state.db", url) if url else open_engine(home / "state.db")
    with transaction(engine) as s:
        s.add(Runtime(name="python", image="img"))
    with transaction(engine) as s:
        s.add(Function(name=FN, runtime_name="python", version=1, digest="d" * 64))
    engine.dispose()


def faasctl_way(home: Path, url: str = "") -> Callable[[], None]:
    """target(), then PENDING (lazy) and the result (durable) through the group commit."""
    from faasctl.state import fastpath, groupcommit

    path = home / "state.db"
    if url:
        reader = fastpath.connect(path, url=url)
        writer = groupcommit.for_file(path, partial(fastpath.connect, shared=True), url)
    else:
        reader = fastpath.connect(path)
        writer = groupcommit.for_file(path, partial(fastpath.connect, shared=True))
    keep = [writer]  # held: the registry keeps writers weakly

    def call() -> None:
        fn = fastpath.target(reader, FN)["function"]
        uid = uuid.uuid4().hex
        num = keep[0].run(lambda c: fastpath.add_call(c, uid, fn, {}, False), durable=False)
        keep[0].run(lambda c: fastpath.set_call(c, num, FINAL), durable=True)

    return call


def target_way(home: Path) -> Callable[[], Any]:
    """The fast path's read alone: no fsync in it, so a change to the read shows."""
    from faasctl.state import fastpath

    reader = fastpath.connect(home / "state.db")
    return partial(fastpath.target, reader, FN)


def raw_select(home: Path) -> Callable[[], Any]:
    import sqlite3

    conn = sqlite3.connect(home / "state.db", isolation_level=None)
    return lambda: conn.execute("SELECT * FROM function WHERE name = ?", (FN,)).fetchone()


def raw_sqlite(home: Path) -> Callable[[], None]:
    import sqlite3

    conn = sqlite3.connect(home / "state.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return partial(_raw, conn.execute, "?")


def raw_pg(url: str) -> Callable[[], None]:
    import psycopg

    conn = psycopg.connect("postgresql://" + url.split("://", 1)[1], autocommit=True)
    return partial(_raw, conn.execute, "%s")


def _raw(execute: Callable[..., Any], p: str) -> None:
    execute(f"SELECT * FROM function WHERE name = {p}", (FN,)).fetchone()
    uid = uuid.uuid4().hex
    execute("BEGIN")
    num = execute(f"INSERT INTO call (uid, func_name, version, alias, params, status, result, error, log, node, "
                  f"start_kind, is_async, created_at) VALUES ({p}, {p}, 1, '', '{{}}', 'PENDING', '', '', '', '', "
                  f"'', {p}, {p}) RETURNING call_num", (uid, FN, False, time.time())).fetchone()[0]
    execute("COMMIT")
    execute("BEGIN")
    execute(f"UPDATE call SET status = 'DONE', result = {p}, finished_at = {p} WHERE call_num = {p}",
            ('"ok"', time.time(), num))
    execute("COMMIT")


def per_call_us(ways: Mapping[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Median µs per call of each way in each round; the ways take turns in blocks."""
    out: dict[str, list[float]] = {name: [] for name in ways}
    for way in ways.values():
        for _ in range(20):
            way()  # warm up: connections, prepared statements, caches
    for r in range(rounds):
        for name, way in ways.items():
            times = []
            for _ in range(BLOCK):
                t0 = time.perf_counter()
                way()
                times.append(time.perf_counter() - t0)
            out[name].append(statistics.median(times) * 1e6)
        log(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {v[-1]:.1f} µs" for n, v in out.items()))
    return out


@contextmanager
def pg_database() -> Iterator[tuple[Any, str]]:
    sys.path.insert(0, str(ROOT))
    from tests.support import pgserver

    server = pgserver.start()
    try:
        yield server, server.database()
    finally:
        server.stop()


def part1(work: Path, rounds: int, server_url: str) -> list[Row]:
    sq = work / "sqlite"
    sq.mkdir(mode=0o700)
    seed(sq)
    ways: dict[str, Callable[[], Any]] = {"sqlite raw": raw_sqlite(sq), "sqlite faasctl": faasctl_way(sq),
                                          "raw select": raw_select(sq), "target()": target_way(sq)}
    if server_url:
        pg = work / "pg"
        pg.mkdir(mode=0o700)
        seed(pg, server_url)
        ways |= {"pg raw": raw_pg(server_url), "pg faasctl": faasctl_way(pg, server_url)}
    got = {k: statistics.median(v) for k, v in per_call_us(ways, rounds).items()}
    rows = [Row("SQLite: fastpath.target() alone", got["target()"], "µs", got["raw select"],
                note="raw: one bare SELECT of the function row"),
            Row("state per call, SQLite: target + PENDING + durable result", got["sqlite faasctl"], "µs",
                got["sqlite raw"], note=f"raw: bare sqlite3, FULL; median of {rounds} round medians")]
    if server_url:
        rows.append(Row("state per call, PostgreSQL: the same", got["pg faasctl"], "µs", got["pg raw"],
                        note="raw: bare psycopg, autocommit, two transactions"))
        rows.append(Row("state per call, PostgreSQL against SQLite (faasctl both)", got["pg faasctl"], "µs",
                        got["sqlite faasctl"]))
    return rows


def part2(work: Path, rounds: int, url: str) -> list[Row]:
    from faasctl.config import Settings
    from faasctl.core.context import Context
    from faasctl.core.invoke import invoke

    fn_dir = work / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    homes = {"sqlite": work / "home-sqlite", "pg": work / "home-pg"}
    cleanup: list[str] = []
    with platform_up(str(homes["sqlite"]), fn_dir, 4) as plat:
        os.environ["FAASCTL_STATE_URL"] = url
        try:
            with platform_up(str(homes["pg"]), fn_dir, 4):
                ctxs = {"sqlite": Context(Settings(home=homes["sqlite"], state_url="")),
                        "pg": Context(Settings(home=homes["pg"], state_url=url))}
                ways = {k: partial(_invoke, invoke, ctx) for k, ctx in ctxs.items()}
                got = {k: statistics.median(v) for k, v in per_call_us(ways, rounds).items()}
                raw = pct(raw_roundtrip(plat["image"], 300, 30, cleanup), 50) * 1e6
        finally:
            os.environ.pop("FAASCTL_STATE_URL", None)
            for name in cleanup:
                os.system(f"docker rm -f {name} >/dev/null 2>&1")
    return [Row("core invoke() p50, SQLite state", got["sqlite"], "µs", raw, note="baseline: raw attach round trip"),
            Row("core invoke() p50, PostgreSQL state", got["pg"], "µs", raw, note="baseline: raw attach round trip"),
            Row("core invoke() p50, PostgreSQL against SQLite", got["pg"], "µs", got["sqlite"])]


def _invoke(invoke: Callable[..., dict[str, Any]], ctx: Any) -> None:
    record = invoke(ctx, WARM_FN, {})
    if record["status"] != "DONE":
        raise RuntimeError(f"call ended {record['status']}: {record['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true", help="part 1 on SQLite alone (any checkout)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faasctl-bench-pg-"))
    try:
        if args.sqlite_only:
            rows = part1(work, args.rounds, "")
        else:
            with pg_database() as (server, url):
                rows = part1(work, args.rounds, url)
                rows += part2(work, args.rounds, server.database())
        report(rows, f"bench/state_pg.py --rounds {args.rounds}{' --sqlite-only' if args.sqlite_only else ''}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
