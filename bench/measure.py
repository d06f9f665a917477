"""Measuring primitives: raw Docker baselines, callers into the agent and the core,
latency and throughput loops, and a throwaway local platform."""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import (
    ECHO,
    PROBE,
    WARM_FN,
    bounded,
    cpu_by_group,
    cpu_seconds,
    host_busy,
    processes,
    sh,
    timed_runs,
)
from faasctl_agent.channel import docker_address


class RawAttach:
    """Blocking client of Docker's attach stream: the least a round trip can cost."""

    def __init__(self, container_id: str) -> None:
        kind, where = docker_address()
        if kind == "unix":
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(str(where))
        else:
            host, _, port = str(where).rpartition(":")
            self.sock = socket.create_connection((host, int(port)))
        self.sock.sendall(
            f"POST /containers/{container_id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
            "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
        self.rfile = self.sock.makefile("rb")
        status = self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if b" 101 " not in status and b" 200 " not in status:
            raise RuntimeError(f"docker refused to attach: {status!r}")

    def roundtrip(self, line: bytes) -> bytes:
        self.sock.sendall(line)
        return self.read_line()

    def read_line(self) -> bytes:
        """stdout frames up to a newline (stderr frames skipped)."""
        buf = b""
        while not buf.endswith(b"\n"):
            header = self.rfile.read(8)
            if len(header) < 8:
                raise RuntimeError("the container closed its stream")
            payload = self.rfile.read(int.from_bytes(header[4:8], "big"))
            if header[0] == 1:
                buf += payload
        return buf

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


def raw_docker_run(image: str, n: int) -> list[float]:
    return timed_runs(["docker", "run", "--rm", "--network", "none", image, "python3", "-c", "print(1)"], n)


def raw_roundtrip(image: str, n: int, seconds: float, cleanup: list[str]) -> list[float]:
    """Round trips of one line through a python echo loop in a running container.

    The container gets the limits a function container gets (1 CPU, 256 MiB, no
    network, non-root) so the only difference left is faasctl's own path.
    """
    name = f"faasctl-bench-echo-{secrets.token_hex(3)}"
    cleanup.append(name)
    sh(["docker", "run", "-d", "-i", "--name", name, "--network", "none", "--cpus", "1", "--memory", "256m",
        "--user", "65534:65534", "--cap-drop", "ALL", image, "python3", "-u", "-c", ECHO])
    client = RawAttach(name)
    try:
        for _ in range(50):
            client.roundtrip(PROBE)
        times = []
        for _ in bounded(n, seconds):
            t0 = time.perf_counter()
            if client.roundtrip(PROBE) != PROBE:
                raise RuntimeError("the echo container answered something else")
            times.append(time.perf_counter() - t0)
        return times
    finally:
        client.close()


def channel_kinds(env: dict[str, str]) -> str:
    """Which runner channel the agent's containers use (its counters), e.g. "socket 1"."""
    import json

    from benchlib import CLI

    status = json.loads(sh([str(CLI), "node", "status", "local", "--json"], env))
    found = {k[len("channels_"):]: v for k, v in status.get("counters", {}).items() if k.startswith("channels_")}
    return ", ".join(f"{k} {v}" for k, v in sorted(found.items())) or "attach (an agent before issue 12)"


# faasctl callers ------------------------------------------------------------------------
def agent_caller(home: str, function: str) -> Callable[[], str]:
    """A raw agent-client call (no state writes), one ZeroMQ socket per caller."""
    from faasctl.agentclient import AgentClient
    from faasctl.state import fastpath

    conn = fastpath.connect(Path(home) / "state.db")
    target = fastpath.target(conn, function)
    conn.close()
    client = AgentClient.for_node(target["nodes"][0], target["identity"])
    digest = target["function"]["digest"]

    def call() -> str:
        reply = client.request("invoke", {"call_id": secrets.token_hex(12), "function": function,
                                          "digest": digest, "params": {}}, timeout=30)
        if reply.get("status") != "DONE":
            raise RuntimeError(f"call ended {reply.get('status')}: {reply.get('error')}")
        return str(reply.get("start_kind", ""))

    return call


def hello_caller(home: str) -> Callable[[], str]:
    """The agent's cheapest request: what the socket and the event loop cost alone."""
    from faasctl.agentclient import AgentClient
    from faasctl.state import fastpath

    conn = fastpath.connect(Path(home) / "state.db")
    target = fastpath.target(conn, WARM_FN)
    conn.close()
    client = AgentClient.for_node(target["nodes"][0], target["identity"])

    def call() -> str:
        client.request("hello", timeout=30)
        return "hello"

    return call


def core_caller(home: str, function: str) -> Callable[[], str]:
    """faasctl.core.invoke.invoke: placement, hello, two state transactions, the call."""
    from faasctl.config import Settings
    from faasctl.core.context import Context
    from faasctl.core.invoke import invoke

    ctx = Context(Settings(home=Path(home)))

    def call() -> str:
        record = invoke(ctx, function, {})
        if record["status"] != "DONE":
            raise RuntimeError(f"call ended {record['status']}: {record['error']}")
        return str(record["startKind"])

    return call


def latencies(call: Callable[[], str], n: int, seconds: float) -> tuple[list[float], Counter[str]]:
    """Sequential call latencies after 20 unmeasured calls, with the start kinds seen (all
    must be warm for a warm figure to mean anything)."""
    kinds: Counter[str] = Counter()
    for _ in range(20):
        call()
    times = []
    for _ in bounded(n, seconds):
        t0 = time.perf_counter()
        kinds[call()] += 1
        times.append(time.perf_counter() - t0)
    return times, kinds


def _process_worker(kind: str, home: str, function: str, seconds: float, barrier: Any, out: Any) -> None:
    call = (agent_caller if kind == "agent" else core_caller)(home, function)
    call()
    barrier.wait()
    count, t0, cpu0 = 0, time.monotonic(), _self_cpu()
    while time.monotonic() - t0 < seconds:
        call()
        count += 1
    out.put((count, _self_cpu() - cpu0))


def throughput(kind: str, home: str, function: str, concurrency: int, seconds: float, workers: str,
               agent_pid: int) -> dict[str, Any]:
    """Calls per second with `concurrency` closed-loop callers, after a warm-up at that level.

    Also reports the CPU the bench, the agent and the whole machine used meanwhile, so
    the reader can tell whether the client or the platform was the limit.
    """
    make = agent_caller if kind == "agent" else core_caller
    # warm-up at this level lets the pool grow to `concurrency` containers (cold starts)
    _threaded(make, home, function, concurrency, min(1.0, seconds))
    busy0, total0 = host_busy()
    agent0, self0, procs0 = cpu_seconds(agent_pid), _self_cpu(), processes(agent_pid)
    if workers == "process":
        count, wall, kinds, bench_cpu = _processes(kind, home, function, concurrency, seconds)
    else:
        count, wall, kinds = _threaded(make, home, function, concurrency, seconds)
        bench_cpu = _self_cpu() - self0
    busy1, total1 = host_busy()
    groups = cpu_by_group(procs0, processes(agent_pid))
    if workers == "process":  # the callers have exited by now: add what they reported
        groups["bench"] = groups.get("bench", 0.0) + bench_cpu
    ncpu = os.cpu_count() or 1
    return {"rate": count / wall, "calls": count, "wall_s": wall, "start_kinds": dict(kinds),
            "agent_cpu_pct": 100 * (cpu_seconds(agent_pid) - agent0) / wall,
            "bench_cpu_pct": 100 * bench_cpu / wall,
            "host_busy_pct": 100 * (busy1 - busy0) / max(1, total1 - total0), "cores": ncpu,
            "cpu_pct_by_group": {g: round(100 * v / wall) for g, v in sorted(groups.items(), key=lambda kv: -kv[1])
                                 if v > 0}}


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _threaded(make: Callable[[str, str], Callable[[], str]], home: str, function: str, concurrency: int,
              seconds: float) -> tuple[int, float, Counter[str]]:
    calls = [make(home, function) for _ in range(concurrency)]
    counts = [0] * concurrency
    kinds: Counter[str] = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(concurrency + 1)
    stop = threading.Event()

    def loop(i: int) -> None:
        start.wait()
        mine: Counter[str] = Counter()
        try:
            while not stop.is_set():
                mine[calls[i]()] += 1
                counts[i] += 1
        except BaseException as exc:  # reported below, after the clock stops
            errors.append(exc)
        kinds.update(mine)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} caller(s) failed: {errors[0]!r}")
    return sum(counts), wall, kinds


def _processes(kind: str, home: str, function: str, concurrency: int,
               seconds: float) -> tuple[int, float, Counter[str], float]:
    spawn = mp.get_context("spawn")  # never fork a process that holds a ZeroMQ context
    barrier, out = spawn.Barrier(concurrency + 1), spawn.Queue()
    procs = [spawn.Process(target=_process_worker, args=(kind, home, function, seconds, barrier, out))
             for _ in range(concurrency)]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    t0 = time.perf_counter()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(10)
    return sum(r[0] for r in results), wall, Counter(), sum(r[1] for r in results)
