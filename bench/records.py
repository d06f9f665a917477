"""Durable call records (issue 12): what recording a call costs, the old way and the new,
and core invoke() next to the agent client and the raw round trip in the same run.

Part 1, no agent: the two writes of a call on a state file of its own, one caller and 16
caller threads, each way in turn, in interleaved rounds (the machine is shared and noisy;
only side-by-side figures compare). The ways:
- old: PENDING then the result, each its own fsync'd transaction on the caller's own
  connection (faasctl up to 84f1a8c);
- write once: only the final record, one fsync'd transaction (loses the record of a call
  whose caller dies mid-call: measured to compare, not used);
- group commit: PENDING committed without an fsync, the result durable, both through the
  process's shared writer (state/groupcommit.py; what core invoke() does now);
- group commit, write once: the final record alone through the shared writer.
Part 2: a local node and a warm function; raw attach round trip, agent client and core
invoke() p50, then 16 caller threads through each, in alternating rounds.

Run it against another checkout with PYTHONPATH (the group-commit ways need the new code;
against older code they are left out):

    PYTHONPATH=.:agent .venv/bin/python bench/records.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import HANDLER, WARM_FN, Row, bounded, log, pct, platform_up, report
from measure import _threaded, agent_caller, core_caller, latencies, raw_roundtrip, throughput

Caller = Callable[[], str]
BLOCK = 50  # calls of one way before the next way's turn (c=1)
FN = {"name": "bench", "version": 1}
FINAL = {"status": "DONE", "result": '"ok"', "node": "local", "start_kind": "warm", "queue_ms": 0.01,
         "start_ms": 0.0, "run_ms": 0.05, "finished_at": 0.0}
INSERT_FINAL = ("INSERT INTO call (uid, func_name, version, params, status, result, error, log, node, start_kind,"
                " queue_ms, start_ms, run_ms, is_async, created_at, finished_at)"
                " VALUES (?, 'bench', 1, '{}', 'DONE', '\"ok\"', '', '', 'local', 'warm', 0.01, 0.0, 0.05, 0, ?, ?)")


def own_connection(path: Path) -> Callable[[], Any]:
    """The caller's own connection, opened in the thread that first uses it (bench threads
    get their callers made elsewhere, and a sqlite3 connection stays in its thread)."""
    from faasctl.state import fastpath

    conns: list[Any] = []

    def conn() -> Any:
        if not conns:
            conns.append(fastpath.connect(path))
        return conns[0]
    return conn


def old(path: Path) -> Caller:
    from faasctl.state import fastpath

    conn_of = own_connection(path)

    def call() -> str:
        conn = conn_of()
        num = fastpath.insert_call(conn, os.urandom(12).hex(), FN, {}, False)
        fastpath.update_call(conn, num, FINAL)
        return "old"
    return call


def once(path: Path) -> Caller:
    from faasctl.state import fastpath

    conn_of = own_connection(path)

    def call() -> str:
        conn = conn_of()
        with fastpath.write(conn):
            conn.execute(INSERT_FINAL, (os.urandom(12).hex(), time.time(), time.time()))
        return "once"
    return call


def shared_writer(path: Path) -> Any:
    from functools import partial

    from faasctl.state import fastpath, groupcommit

    return groupcommit.for_file(path, partial(fastpath.connect, shared=True))


def group(path: Path) -> Caller:
    from faasctl.state import fastpath

    writer = shared_writer(path)

    def call() -> str:
        uid = os.urandom(12).hex()
        num = writer.run(lambda c: fastpath.add_call(c, uid, FN, {}, False), durable=False)
        writer.run(lambda c: fastpath.set_call(c, num, FINAL), durable=True)
        return "group"
    return call


def group_once(path: Path) -> Caller:
    writer = shared_writer(path)

    def call() -> str:
        uid = os.urandom(12).hex()
        writer.run(lambda c: c.execute(INSERT_FINAL, (uid, time.time(), time.time())), durable=True)
        return "group-once"
    return call


WAYS: dict[str, Callable[[Path], Caller]] = {
    "old: two fsync'd transactions": old, "write once: one fsync'd transaction": once,
    "group commit: PENDING unsynced + final durable (new)": group, "group commit, write once": group_once}


def fresh_state(root: Path, name: str) -> Path:
    from faasctl.state.db import open_engine

    path = root / name / "state.db"
    path.parent.mkdir(parents=True)
    open_engine(path).dispose()  # at the migrations' head: with the call_count triggers every real file has
    return path


def record_costs(args: argparse.Namespace, root: Path) -> list[Row]:
    """At c=1 the ways take turns every BLOCK calls (the disk's fsync time drifts with
    what else runs: turns keep the comparison fair); at c=16 every round."""
    have_group = importlib.util.find_spec("faasctl.state.groupcommit") is not None
    ways = {k: v for k, v in WAYS.items() if have_group or v in (old, once)}
    c1: dict[str, list[float]] = {k: [] for k in ways}
    c16: dict[str, list[float]] = {k: [] for k in ways}
    for rnd in range(args.rounds):
        paths = {what: fresh_state(root, f"r{rnd}-{i}") for i, what in enumerate(ways)}
        callers = {what: ways[what](paths[what]) for what in ways}
        log(f"records round {rnd + 1}: c=1, {len(ways)} ways in turns of {BLOCK} calls")
        for call in callers.values():
            for _ in range(BLOCK):
                call()  # unmeasured: the page cache, the first checkpoint
        spent, blocks = dict.fromkeys(ways, 0.0), 0
        for _ in bounded(args.record_calls // BLOCK, args.phase_seconds * len(ways)):
            blocks += 1
            for what, call in callers.items():
                t0 = time.perf_counter()
                for _ in range(BLOCK):
                    call()
                spent[what] += time.perf_counter() - t0
        for what in ways:
            c1[what].append(spent[what] / (BLOCK * max(1, blocks)))
        for what, way in ways.items():
            log(f"records round {rnd + 1}: c=16, {what}")
            count, wall, _ = _threaded(lambda _h, _f, way=way, path=paths[what]: way(path), "", "", 16,
                                       args.tput_seconds)
            c16[what].append(wall / count)
    base = list(ways)[0]
    rows = []
    for label, figures in (("c=1", c1), ("c=16", c16)):
        ref = statistics.median(figures[base]) * 1e6
        for what, values in figures.items():
            rows.append(Row(f"record cost per call, {label}, {what}", statistics.median(values) * 1e6, "us",
                            ref, note=f"median of {len(values)} rounds: " + ", ".join(f"{v * 1e6:.0f}" for v in values)
                            + (" (wall / calls of 16 threads)" if label == "c=16" else " (mean per call)")))
    return rows


def invoke_rows(args: argparse.Namespace, root: Path) -> list[Row]:
    fn_dir = root / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    home, cleanup = str(root / "home"), list[str]()
    figures: dict[str, list[float]] = {k: [] for k in ("raw", "agent", "core", "agent16", "core16")}
    cpu: dict[str, list[str]] = {"agent": [], "core": []}  # where the CPU went in each c=16 round
    try:
        with platform_up(home, fn_dir, 16) as up:
            agent, core = agent_caller(home, WARM_FN), core_caller(home, WARM_FN)
            for rnd in range(args.rounds):
                log(f"invoke round {rnd + 1}: raw round trip, agent client, core invoke()")
                figures["raw"].append(pct(raw_roundtrip(up["image"], args.warm_calls, args.phase_seconds,
                                                        cleanup), 50))
                for kind, call in (("agent", agent), ("core", core)):
                    times, kinds = latencies(call, args.warm_calls, args.phase_seconds)
                    assert set(kinds) == {"warm"}, kinds
                    figures[kind].append(pct(times, 50))
                for kind in ("agent", "core"):
                    log(f"invoke round {rnd + 1}: {kind} c=16 for {args.tput_seconds:g} s")
                    t = throughput(kind, home, WARM_FN, 16, args.tput_seconds, "thread", up["agent_pid"])
                    figures[f"{kind}16"].append(t["rate"])
                    cpu[kind].append(f"bench {t['bench_cpu_pct']:.0f}%, agent {t['agent_cpu_pct']:.0f}%, "
                                     f"host busy {t['host_busy_pct']:.0f}%")
    finally:
        for name in cleanup:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    med = {k: statistics.median(v) for k, v in figures.items()}
    per_round = {k: ", ".join(f"{x * 1e3:.3f}" if k in ("raw", "agent", "core") else f"{x:,.0f}" for x in v)
                 for k, v in figures.items()}
    core_ratio = [c / r for c, r in zip(figures["core"], figures["raw"], strict=True)]
    tput_ratio = [c / a for c, a in zip(figures["core16"], figures["agent16"], strict=True)]
    return [
        Row("raw attach round trip p50", med["raw"] * 1e3, "ms", note=f"rounds: {per_round['raw']}"),
        Row("warm invoke p50, agent client", med["agent"] * 1e3, "ms", med["raw"] * 1e3,
            note=f"rounds: {per_round['agent']}"),
        Row("warm invoke p50, core invoke()", med["core"] * 1e3, "ms", med["raw"] * 1e3, "<= 3x raw round trip",
            med["core"] <= 3 * med["raw"], f"rounds: {per_round['core']}; per-round ratios "
            + ", ".join(f"{r:.2f}" for r in core_ratio)),
        Row("core invoke() minus agent client, p50", (med["core"] - med["agent"]) * 1e3, "ms",
            note="what core adds to a call: the target read, placement, the records"),
        Row("throughput c=16, agent client", med["agent16"], "inv/s",
            note=f"rounds: {per_round['agent16']}; CPU: {'; '.join(cpu['agent'])}"),
        Row("throughput c=16, core invoke()", med["core16"], "inv/s", med["agent16"], ">= 0.7x agent client",
            med["core16"] >= 0.7 * med["agent16"], f"rounds: {per_round['core16']}; per-round ratios "
            + ", ".join(f"{r:.2f}" for r in tput_ratio) + f"; CPU: {'; '.join(cpu['core'])}"),
    ]


def code_under_test() -> str:
    import faasctl

    where = Path(faasctl.__file__).resolve().parent.parent
    head = subprocess.run(["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no", "faasctl"],
                           capture_output=True, text=True).stdout.strip()
    return f"{where} at {head or '?'}{' (modified)' if dirty else ''}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every measurement (median)")
    p.add_argument("--record-calls", type=int, default=2000, help="calls per way at c=1 in each round")
    p.add_argument("--warm-calls", type=int, default=1000, help="warm calls per caller kind in each round")
    p.add_argument("--tput-seconds", type=float, default=3.0, help="seconds of each c=16 measurement")
    p.add_argument("--phase-seconds", type=float, default=20.0, help="time bound of each latency loop")
    p.add_argument("--skip-invoke", action="store_true", help="part 1 only (no Docker)")
    args = p.parse_args()
    started, load = time.time(), Path("/proc/loadavg").read_text().split()[0]
    root = Path(tempfile.mkdtemp(prefix="faasctl-bench-records-"))
    try:
        rows = record_costs(args, root)
        if not args.skip_invoke:
            rows += invoke_rows(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(rows, f"load before {load}; code {code_under_test()}; {args.rounds} rounds; "
           f"{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
