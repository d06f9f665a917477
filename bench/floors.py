"""Floors under issue 12's goals: what the parts faasctl must use reach on their own.

Issue 12 asks the agent client at 16 callers for 0.7x of 16 threads over raw attach. The
agent must at least receive and answer each call over an authenticated ZeroMQ socket
(the design's security model). So this measures, in one run and with the same 16 caller
threads in one Python process, that leg alone: a ROUTER echo in another process (a
blocking loop, no JSON, no function) over loopback, with and without CURVE, next to the
raw attach baseline. If the echo alone is under 0.7x, no agent built on that socket can
meet the goal on this machine; the table says by how much.

The second table is the same for one caller's latency: the raw attach round trip, a
blocking CURVE echo, and one durable commit of a call record (SQLite in WAL mode with
synchronous=FULL, as faasctl's state: one fsync per commit) in a temporary folder on the
state's filesystem. A core `invoke()` acknowledges a call only after its record is
durable, so with one caller that commit is in every call's latency.

    .venv/bin/python bench/floors.py [--seconds 3] [--rounds 3] [--calls 2000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import zmq
from benchlib import bounded
from measure import _threaded, raw_roundtrip
from raw_baselines import raw_throughput
from warm_zmq import dealer, echo_server

IMAGE = "faasctl/base:bookworm"
CALLERS = 16


def echo_rate(curve: bool, seconds: float) -> float:
    """16 threads, each with its own DEALER (as each agent caller has its own socket)."""
    endpoint, server_pub, stop = echo_server(curve)
    sockets: list[zmq.Socket[bytes]] = []

    def make(_home: str, _function: str) -> Callable[[], str]:
        trip, sock = dealer(endpoint, server_pub if curve else None)
        sockets.append(sock)
        for _ in bounded(20, 5.0):  # handshake done before the clock starts
            trip()

        def call() -> str:
            trip()
            return "echo"

        return call

    try:
        count, wall, _ = _threaded(make, "", "", CALLERS, seconds)
    finally:
        for sock in sockets:
            sock.close(0)
        stop()
    return count / wall


def commit_latencies(n: int, seconds: float) -> list[float]:
    """One small row per transaction, each fsynced, in a file under ~/.faasctl's filesystem."""
    where = Path.home() / ".faasctl"
    where.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        conn = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE call (n INTEGER PRIMARY KEY, body TEXT)")
        body = "x" * 300  # about a call record's size
        times = []
        for _ in bounded(n, seconds):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO call (body) VALUES (?)", (body,))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - t0)
        conn.close()
    return times


def latency_table(n: int, seconds: float) -> None:
    cleanup: list[str] = []
    try:
        raw = statistics.median(raw_roundtrip(IMAGE, n, seconds, cleanup))
    finally:
        if cleanup:
            subprocess.run(["docker", "rm", "-f", *cleanup], capture_output=True, check=False)
    endpoint, server_pub, stop = echo_server(True)
    trip, sock = dealer(endpoint, server_pub)
    try:
        for _ in bounded(50, 5.0):
            trip()
        echo = []
        for _ in bounded(n, seconds):
            t0 = time.perf_counter()
            trip()
            echo.append(time.perf_counter() - t0)
    finally:
        sock.close(0)
        stop()
    commit = statistics.median(commit_latencies(n // 4, seconds))
    print(f"\n| one caller, p50 of up to {n} | ms | / raw round trip |")
    print("| --- | ---: | ---: |")
    for what, value in (("raw attach round trip", raw), ("ZeroMQ echo, CURVE, blocking", statistics.median(echo)),
                        ("one durable commit (WAL, synchronous=FULL)", commit)):
        print(f"| {what} | {value * 1e3:.3f} | {value / raw:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000, help="round trips per latency row")
    args = parser.parse_args()
    rows: dict[str, list[float]] = {"raw attach, 16 containers": [], "ZeroMQ echo, plain": [],
                                    "ZeroMQ echo, CURVE": []}
    for _ in range(args.rounds):  # interleaved, so drift hits every row alike
        cleanup: list[str] = []
        try:
            rows["raw attach, 16 containers"].append(raw_throughput(IMAGE, CALLERS, CALLERS, args.seconds, cleanup)[0])
        finally:
            if cleanup:
                subprocess.run(["docker", "rm", "-f", *cleanup], capture_output=True, check=False)
        rows["ZeroMQ echo, plain"].append(echo_rate(False, args.seconds))
        rows["ZeroMQ echo, CURVE"].append(echo_rate(True, args.seconds))
    raw = statistics.median(rows["raw attach, 16 containers"])
    print(f"| {CALLERS} callers, closed loop, {args.rounds} rounds of {args.seconds:g} s | median/s | / raw |")
    print("| --- | ---: | ---: |")
    for what, rates in rows.items():
        rate = statistics.median(rates)
        print(f"| {what} | {rate:,.0f} | {rate / raw:.2f}x |")
    latency_table(args.calls, args.seconds * 3)


if __name__ == "__main__":
    main()
