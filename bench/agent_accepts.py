"""The agent's accept of async calls alone, next to its plain round trip, in one run (issue 15).

No HTTP and no operator state: 16 threads of this process (each with its own client,
as serve's core threads) send `invoke` with async=True straight to the local node's
agent for a few seconds; the baseline is `hello` from the same threads, answered by
the agent without a task or a journal write (the ZeroMQ round trip's floor). Phases
alternate (hello, accept, hello, accept...); after each accept phase the agent runs
what it accepted before the next phase starts. What is left between the two is the
journal: before group commit (groupsync.py) one fsync per accept on the event loop.

    PYTHONPATH=.:agent .venv/bin/python bench/agent_accepts.py [--rounds 2] [--seconds 5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import HANDLER, WARM_FN, Row, log, pct, platform_up, report

import faasctl


def requester(home: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    from faasctl.config import Settings
    from faasctl.core import nodes
    from faasctl.core.context import Context

    ctx = Context(Settings(home=Path(home)))
    client = ctx.client(nodes.get(ctx, "local"))

    def request(op: str, args: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = client.request(op, args, timeout=60)
        return reply

    return request


def load(home: str, op: str, args: dict[str, Any], threads: int, seconds: float) -> dict[str, float]:
    calls = [requester(home) for _ in range(threads)]
    times: list[list[float]] = [[] for _ in range(threads)]
    stop, start = threading.Event(), threading.Barrier(threads + 1)

    def loop(i: int) -> None:
        start.wait()
        while not stop.is_set():
            t0 = time.perf_counter()
            calls[i](op, args)
            times[i].append(time.perf_counter() - t0)

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join(60)
    flat = [x for part in times for x in part]
    return {"rate": len(flat) / (time.perf_counter() - t0), "p50": pct(flat, 50) * 1000,
            "p99": pct(flat, 99) * 1000}


def drained(home: str) -> None:
    """Until the agent has run every call it accepted (the next phase starts on an idle agent)."""
    status = requester(home)
    while status("status", {})["running"]:
        time.sleep(0.2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per phase")
    p.add_argument("--threads", type=int, default=16, help="concurrent callers")
    p.add_argument("--rounds", type=int, default=2, help="hello/accept pairs")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-accepts-"))
    (tmp / "fn").mkdir()
    (tmp / "fn" / "main.py").write_text(HANDLER)
    home, c, d = str(tmp / "home"), args.threads, args.seconds
    rows: list[Row] = []
    try:
        with platform_up(home, tmp / "fn", 16):
            accept = {"function": WARM_FN, "params": {}, "async": True}
            load(home, "hello", {}, c, 1)  # warm-up: connections and handshakes
            load(home, "invoke", accept, c, 1)
            drained(home)
            for r in range(args.rounds):
                log(f"round {r + 1}: hello, then async invoke, {d:g} s each at c={c}")
                base = load(home, "hello", {}, c, d)
                got = load(home, "invoke", accept, c, d)
                drained(home)
                rows.append(Row(f"agent async accept, c={c} (round {r + 1})", got["rate"], "req/s", base["rate"],
                                note=f"accept p50 {got['p50']:.1f} ms, p99 {got['p99']:.1f} ms; "
                                     f"hello p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, f"{c} threads, {d:g} s per phase; faasctl from {Path(faasctl.__file__ or '').parent}")


if __name__ == "__main__":
    main()
