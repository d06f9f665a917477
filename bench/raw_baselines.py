"""Raw baselines for throughput and for large results: what the engine alone does.

Issue 12 asks for two baselines bench/invoke.py lacked. Throughput: closed-loop caller
threads over attach streams to as many raw echo containers as the agent's pool used, one
line in flight per container (as the agent runs one call per container). A large result:
the same number of bytes moved out of a running container through a bare attach stream,
next to a handler returning them through the whole faasctl path.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable

from benchlib import ECHO, PROBE, bounded, sh
from measure import RawAttach, _threaded

# A line {"n": N} in, a JSON line with N bytes of result out (the runner's reply shape).
REPLIER = ("import json, sys\n"
           "for line in sys.stdin:\n    n = json.loads(line)['n']\n"
           "    sys.stdout.write('{\"ok\":true,\"result\":\"' + 'x' * n + '\"}\\n'); sys.stdout.flush()\n")
LIMITS = ["--network", "none", "--cpus", "1", "--memory", "256m", "--user", "65534:65534", "--cap-drop", "ALL"]


def _container(image: str, script: str, cleanup: list[str]) -> RawAttach:
    name = f"faasctl-bench-raw-{secrets.token_hex(3)}"
    cleanup.append(name)
    sh(["docker", "run", "-d", "-i", "--name", name, *LIMITS, image, "python3", "-u", "-c", script])
    return RawAttach(name)


def raw_throughput(image: str, concurrency: int, containers: int, seconds: float,
                   cleanup: list[str]) -> tuple[float, int]:
    """Round trips per second of `concurrency` threads sharing `containers` echo containers."""
    clients = [_container(image, ECHO, cleanup) for _ in range(max(1, containers))]
    locks = [threading.Lock() for _ in clients]
    for client in clients:
        for _ in range(20):
            client.roundtrip(PROBE)
    turn = itertools.count()

    def make(home: str, function: str) -> Callable[[], str]:
        """Caller i shares container i % N, one line in flight on it at a time."""
        i = next(turn) % len(clients)

        def call() -> str:
            with locks[i]:
                clients[i].roundtrip(PROBE)
            return "raw"

        return call

    try:
        count, wall, _ = _threaded(make, "", "", concurrency, seconds)
    finally:
        for client in clients:
            client.close()
    return count / wall, len(clients)


def raw_large(image: str, size: int, repeat: int, cleanup: list[str]) -> list[float]:
    """Seconds to ask a running container for `size` bytes and read them off the attach stream."""
    client = _container(image, REPLIER, cleanup)
    times = []
    try:
        for _ in bounded(repeat, 120):
            t0 = time.perf_counter()
            got = _read_reply(client, b'{"n": %d}\n' % size)
            times.append(time.perf_counter() - t0)
            if got < size:
                raise RuntimeError(f"the raw replier sent {got} bytes, not {size}")
    finally:
        client.close()
    return times


def _read_reply(client: RawAttach, line: bytes) -> int:
    """Send one line, read stdout frames up to the reply's newline; the bytes read."""
    client.sock.sendall(line)
    got = 0
    while True:
        header = client.rfile.read(8)
        if len(header) < 8:
            raise RuntimeError("the replier closed its stream")
        payload = client.rfile.read(int.from_bytes(header[4:8], "big"))
        if header[0] == 1:
            got += len(payload)
            if payload.endswith(b"\n"):
                return got


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in bounded(repeat, 300):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times
