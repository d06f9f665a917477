"""Failover benchmark (issue 16): what one dead or hung node of two costs callers.

Two local agents (n1, n2) on loopback, a trivial function kept warm on both, default
placement (round-robin). Each phase measures `faasctl invoke` as a new process (p50,
p99, max) and `serve` throughput under 16 connections, with both nodes healthy (the
baseline, same run), with n2's agent and supervisor killed (SIGKILL: refused), and with
them frozen (SIGSTOP: the port accepts, nothing answers). After each fault it restarts
(or SIGCONTs) n2 and times until a call lands on it again, next to the backoff window
in effect. Every loop has a count and a time bound; everything is removed at the end.

    .venv/bin/python bench/failover.py [--calls 100] [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from benchlib import CLI, ROOT, Row, bounded, log, machine, pct, sh, table

FN = "bench-fo"
HANDLER = "def handle(params):\n    return 'ok'\n"
NODES = ("n1", "n2")


def agent_pids(home: str, node: str) -> list[int]:
    """The supervisor's and the agent's pids, from the files the supervisor writes."""
    folder = Path(home) / "nodes" / node
    return [int(f.read_text().split()[0]) for f in (folder / "agent.pid", folder / "agent.child.pid") if f.exists()]


def cli_calls(env: dict[str, str], n: int, seconds: float) -> tuple[list[float], dict[str, int]]:
    """Wall seconds of `faasctl invoke` as new processes, and which node answered."""
    walls, where = [], {"n1": 0, "n2": 0, "failed": 0}
    for _ in bounded(n, seconds):
        t0 = time.perf_counter()
        proc = subprocess.run([str(CLI), "invoke", FN, "--json"], env=env, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
        node = json.loads(proc.stdout)["node"] if proc.returncode == 0 else "failed"
        where[node] = where.get(node, 0) + 1
    return walls, where


@contextmanager
def serving(env: dict[str, str]) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([str(CLI), "serve", "--port", str(port), "--log-level", "warning"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in bounded(300, 30):
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def serve_throughput(port: int, connections: int, seconds: float) -> tuple[float, int]:
    """Calls per second over `connections` keep-alive connections, and failed calls."""
    import http.client

    done, failed = [0] * connections, [0] * connections
    body = json.dumps({"params": {}})
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(100_000):  # bounded; the deadline ends it first
            if time.monotonic() > deadline:
                break
            conn.request("POST", f"/v1/functions/{FN}/invocations", body, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            ok = reply.status == 200 and json.loads(reply.read()).get("status") == "DONE"
            done[i] += ok
            failed[i] += not ok
        conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return sum(done) / (time.monotonic() - t0), sum(failed)


def until_used(env: dict[str, str], node: str, seconds: float) -> float:
    """Seconds until a `faasctl invoke` lands on `node` again (inf if not within `seconds`)."""
    t0 = time.monotonic()
    for _ in bounded(1000, seconds):
        out = subprocess.run([str(CLI), "invoke", FN, "--json"], env=env, capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL).stdout
        if out and json.loads(out)["node"] == node:
            return time.monotonic() - t0
    return float("inf")


def window_now(env: dict[str, str], node: str) -> float:
    """The backoff window the node is in, from `node list --json` (read without probing it)."""
    for row in json.loads(sh([str(CLI), "node", "list", "--json"], env)):
        h = row["health"]
        if row["name"] == node and h["suspect"]:
            return float(h["next_probe_at"]) - float(h["last_failed_at"])
    return 0.0


def phase(rows: list[Row], label: str, env: dict[str, str], args: argparse.Namespace,
          base: tuple[float, float, float] | None) -> tuple[float, float, float]:
    walls, where = cli_calls(env, args.calls, args.seconds * 6)
    p50, p99 = pct(walls, 50), pct(walls, 99)
    with serving(env) as port:
        tput, failed = serve_throughput(port, 16, args.seconds)
    note = f"{len(walls)} calls, max {max(walls):.2f} s; answered by {where}; serve: {failed} failed"
    log(f"{label}: p50 {p50:.3f} p99 {p99:.3f} max {max(walls):.3f} serve {tput:.1f}/s ({note})")
    if base is None:
        rows += [Row(f"{label}: invoke p50", p50, "s", note=note), Row(f"{label}: invoke p99", p99, "s"),
                 Row(f"{label}: serve, 16 connections", tput, "calls/s")]
    else:
        rows += [Row(f"{label}: invoke p50", p50, "s", base[0], "<= 1.2x", p50 <= 1.2 * base[0], note),
                 Row(f"{label}: invoke p99", p99, "s", base[1], "<= 2x", p99 <= 2 * base[1]),
                 Row(f"{label}: serve, 16 connections", tput, "calls/s", base[2], ">= 0.8x",
                     tput >= 0.8 * base[2] and failed == 0)]
    return p50, p99, tput


def comeback(rows: list[Row], label: str, env: dict[str, str], home: str, revive: Any) -> None:
    window = window_now(env, "n2")
    revive()
    seconds = until_used(env, "n2", 120)
    log(f"{label}: n2 used again after {seconds:.2f} s (window {window:g} s)")
    rows.append(Row(f"{label}: n2 used again after", seconds, "s", window, "<= 1 window (+1 call)",
                    seconds <= window + 1.0, f"window in effect {window:g} s"))


def run(args: argparse.Namespace, home: str) -> list[Row]:
    env = {**os.environ, "FAASCTL_HOME": home}
    sys.path.insert(0, str(ROOT))
    from faasctl.config import Settings
    from faasctl.core import nodes
    from faasctl.core.context import Context

    ctx = Context(Settings(home=Path(home)))
    for name in NODES:
        nodes.add_local(ctx, name)
    src = Path(home) / "fn"
    src.mkdir()
    (src / "main.py").write_text(HANDLER)
    sh([str(CLI), "runtime", "add", "python", "--from", str(ROOT / "runtimes" / "python")], env)
    sh([str(CLI), "fn", "deploy", FN, str(src), "--runtime", "python", "--handler", "main:handle",
        "--preload", "function", "--min-warm", "1", "--max-concurrency", "8", "--queue-limit", "256"], env)
    cli_calls(env, 4, 30)  # warm-up, unmeasured
    rows: list[Row] = []
    base = phase(rows, "healthy", env, args, None)

    for pid in agent_pids(home, "n2"):  # the supervisor too, or it restarts the agent
        os.kill(pid, signal.SIGKILL)
    phase(rows, "n2 killed (refused)", env, args, base)
    comeback(rows, "after restart", env, home, lambda: nodes.add_local(Context(Settings(home=Path(home))), "n2"))

    frozen = agent_pids(home, "n2")
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        phase(rows, "n2 frozen (SIGSTOP)", env, args, base)
        def thaw() -> None:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)

        comeback(rows, "after SIGCONT", env, home, thaw)
    finally:
        for pid in frozen:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100, help="`faasctl invoke` processes per phase")
    parser.add_argument("--seconds", type=float, default=8.0, help="serve throughput seconds per phase")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="faasctl-bench-failover-")
    env = {**os.environ, "FAASCTL_HOME": home}
    try:
        rows = run(args, home)
    finally:
        for name in NODES:
            for pid in agent_pids(home, name):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                sh([str(CLI), "node", "rm", name, "--force"], env, timeout=120)
    print(f"machine: {json.dumps(machine())}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
