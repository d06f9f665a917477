"""Where serve's async accept (the seed's POST /invokeFunction) spends its time and the
machine's CPU, next to the trivial FastAPI route, in one run (issue 15).

The goal (>= 0.7x the trivial route) asks serve to accept about as many calls per second
as that route answers. Each accepted call is also run, on the same cores, by the agent
and the function's container. So this bench measures, in one run, with wrk as the load:
- the trivial route (the baseline, as in bench/serve.py), with its CPU per request;
- serve's /invokeFunction, with the CPU per accepted call of serve, of the agent, and of
  the rest of the machine (the containers, Docker, wrk, and whatever else runs here);
- core invoke(is_async=True) in this process at the same concurrency and alone, with the
  wall time of each step of an accept: the function's row and nodes
  (fastpath.target), the PENDING record, the agent's accept (its journal fsync
  included), and the durable record (the WAL's fdatasync).
The ceiling two cores put on accepts follows: 2 CPU-seconds per second over the CPU one
accepted call costs the whole machine.

    .venv/bin/python bench/accept_parts.py [--seconds 5] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchlib import HANDLER, WARM_FN, Row, cpu_by_group, cpu_seconds, log, platform_up, processes, report
from serve import REFERENCE, async_caller, free_port, lua_file, server

import faasctl

STEPS = ("fastpath.target", "PENDING record", "agent accept", "durable record")
PARTS = {"serve": "serve", "agent": "the agent (accept, run, end)", "containers": "the function's container and "
         "Docker (shim, dockerd, containerd)", "wrk": "wrk (the load)"}
CONTAINERS = ("runners", "containerd-shim", "dockerd", "containerd")


def children_cpu() -> float:
    """CPU seconds of this process's ended children (wrk runs as one, per phase)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def step_timers() -> Iterator[dict[str, list[float]]]:
    """Wall time of each step of invoke(), from timers wrapped around the methods it calls."""
    from faasctl.agentclient import AgentClient
    from faasctl.core import invoke
    from faasctl.state.groupcommit import GroupCommit

    times: dict[str, list[float]] = defaultdict(list)

    def timed(name: Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[name(*args, **kwargs)].append(time.perf_counter() - t0)
        return wrapper

    saved = (invoke.fastpath.target, GroupCommit.run, AgentClient.request)
    invoke.fastpath.target = timed(lambda *a, **k: STEPS[0], saved[0])  # type: ignore[method-assign]
    GroupCommit.run = timed(lambda self, fn, durable: STEPS[3] if durable else STEPS[1],  # type: ignore[method-assign]
                            saved[1])
    AgentClient.request = timed(lambda self, op, *a, **k: STEPS[2] if op == "invoke" else op,  # type: ignore
                                saved[2])
    try:
        yield times
    finally:
        invoke.fastpath.target, GroupCommit.run, AgentClient.request = saved  # type: ignore[method-assign]


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def accepts(home: str, threads: int, seconds: float) -> tuple[float, float, dict[str, list[float]]]:
    """core invoke(is_async=True) from `threads` threads: accepts/s, this process's CPU per
    accept (ms: invoke's own, the ZeroMQ I/O thread's included), and each step's times."""
    calls = [async_caller(home) for _ in range(threads)]
    stop, start, done = threading.Event(), threading.Barrier(threads + 1), [0] * threads
    errors: list[BaseException] = []

    def loop(i: int) -> None:
        try:
            calls[i]()  # its connections and sockets are opened (in its thread) before the clock starts
        finally:
            start.wait()
        try:
            while not stop.is_set():
                calls[i]()
                done[i] += 1
        except BaseException as exc:  # reported after the clock stops
            errors.append(exc)

    with step_timers() as times:
        workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        times.clear()  # the warm-up calls
        t0, cpu0 = time.perf_counter(), self_cpu()
        time.sleep(seconds)
        stop.set()
        for w in workers:
            w.join(60)
        wall, cpu = time.perf_counter() - t0, self_cpu() - cpu0
    if errors:
        raise RuntimeError(f"{len(errors)} caller(s) failed: {errors[0]!r}")
    return sum(done) / wall, cpu * 1e3 / max(1, sum(done)), dict(times)


def mean_ms(values: list[float]) -> float:
    return 1e3 * sum(values) / max(1, len(values))


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-accept-"))
    home, fn_dir = str(tmp / "home"), tmp / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    c, d, cores = args.connections, args.seconds, os.cpu_count() or 1
    try:
        with platform_up(home, fn_dir, c) as up:
            env = {**up["env"], "PYTHONUNBUFFERED": "1"}
            ref_port, serve_port = free_port(), free_port()
            with server([sys.executable, "-c", REFERENCE, str(ref_port), "warning"], env, ref_port,
                        tmp / "ref.log") as ref, \
                    server([str(Path(sys.executable).with_name("faasctl")), "serve", "--port", str(serve_port),
                            "--log-level", "warning"], env, serve_port, tmp / "serve.log") as srv:
                get, post = lua_file(tmp, "get"), lua_file(tmp, "accept", "POST", {"funcName": WARM_FN, "params": {}})
                log(f"warm-up, then the trivial route and /invokeFunction, {d:g} s each at c={c}")
                srv.load("/invokeFunction", 1, c, post)
                time.sleep(2)  # the agent runs what it accepted
                base = ref.load("/runtimes", d, c, get)
                agent0, groups0, wrk0 = cpu_seconds(up["agent_pid"]), processes(up["agent_pid"]), children_cpu()
                got = srv.load("/invokeFunction", d, c, post)
                n = max(1, got["requests"])
                groups = cpu_by_group(groups0, processes(up["agent_pid"]))
                per_call = {"serve": got["cpu_ms"], "agent": (cpu_seconds(up["agent_pid"]) - agent0) * 1e3 / n,
                            "wrk": (children_cpu() - wrk0) * 1e3 / n,
                            "containers": sum(groups.get(g, 0.0) for g in CONTAINERS) * 1e3 / n}
                others = groups.get("rest", 0.0) * 1e3 / n
                rows.append(Row("trivial FastAPI route (baseline)", base["rate"], "req/s",
                                note=f"its CPU {base['cpu_ms']:.2f} ms/req"))
                rows.append(Row(f"POST /invokeFunction, c={c}", got["rate"], "req/s", base["rate"], ">= 0.7x trivial",
                                got["rate"] >= 0.7 * base["rate"] and not got["non2xx"],
                                f"p50 {got['p50'] / 1e3:.1f} ms, p99 {got['p99'] / 1e3:.1f} ms"))
                for part, what in PARTS.items():
                    rows.append(Row(f"  CPU per accepted call: {what}", per_call[part], "ms"))
                rows.append(Row("  CPU per accepted call: other processes (not ours)", others, "ms",
                                note="other sessions on this machine"))
                total = sum(per_call.values())
                rows.append(Row(f"  ceiling: {cores} cores / our {total:.2f} ms of CPU per accepted call",
                                cores * 1e3 / total, "calls/s", base["rate"],
                                note="what these cores allow with nothing else running"))
                time.sleep(d)
            for threads in (c, 1):
                log(f"core invoke(is_async=True) in process, {d:g} s at c={threads}, each step timed")
                rate, cpu_ms, times = accepts(home, threads, d)
                steps = ", ".join(f"{s} {mean_ms(times.get(s, [])):.2f}" for s in STEPS)
                rows.append(Row(f"core invoke(is_async=True), c={threads}", rate, "calls/s",
                                note=f"its CPU {cpu_ms:.2f} ms per call; mean wall ms per step: {steps}"))
                time.sleep(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per measured phase")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections (and core threads)")
    args = p.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0]
    started = time.time()
    rows = run(args)
    report(rows, f"wrk {args.seconds:g} s per phase at c={args.connections}; load before {load}; "
           f"{time.time() - started:.0f} s; faasctl from {Path(faasctl.__file__ or '').parent}")


if __name__ == "__main__":
    main()
