"""Async accepts at batch cost (issue 15), against a real agent (the local node), a real
Docker engine and the agent's real journal.

Many concurrent async invokes, group-committed by the agent (groupsync.py), are all
acknowledged and all run to DONE. Then the agent is killed with SIGKILL at seeded
random moments of a burst: every call it acknowledged must be in its journal after the
restart (its supervisor starts it again) and end as today's rules say: DONE (finished
before the kill, or still PENDING and run after the restart) or LOST (it was RUNNING).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import Platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

FN = "accepts"
SEED = 15
FINAL = {"DONE", "ERROR", "TIMEOUT", "LOST"}


def deploy(platform: Platform, tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "main.py").write_text("import json, time\n\ndef handle(params):\n"
                                 "    time.sleep(float(params.get('s', 0)))\n"
                                 "    return json.dumps(params, sort_keys=True)\n")
    platform.cli("fn", "deploy", FN, str(src), "--runtime", "python", "--handler", "main:handle",
                 "--preload", "function", "--min-warm", "2", "--max-concurrency", "4", "--queue-limit", "100000")


def requester(platform: Platform) -> Callable[..., dict[str, Any]]:
    """The agent's own client, one Context per thread as serve's core threads have."""
    from faasctl.core import nodes

    ctx = platform.context()
    node = nodes.get(ctx, "local")

    def request(op: str, args: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        reply: dict[str, Any] = ctx.client(node).request(op, args, timeout=timeout)
        return reply

    return request


def burst(platform: Platform, threads: int, per_thread: int, params: Callable[[int, int], dict[str, Any]],
          acked: list[dict[str, Any]], stop: threading.Event | None = None, timeout: float = 60) -> None:
    """Async invokes from `threads` threads; each acknowledgement is appended to `acked` as
    it comes (a failed request is not one)."""
    lock = threading.Lock()

    def run(t: int) -> None:
        request = requester(platform)
        for i in range(per_thread):
            if stop is not None and stop.is_set():
                return
            call_id = f"t{t}-{i}-{os.urandom(4).hex()}"
            try:
                reply = request("invoke", {"function": FN, "params": params(t, i), "async": True,
                                           "call_id": call_id}, timeout)
            except Exception:  # noqa: BLE001 - the agent was killed: not acknowledged
                if stop is None:
                    raise
                return
            with lock:
                acked.append({**reply, "sent": params(t, i)})

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)


def final(request: Callable[..., dict[str, Any]], call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each call's record once it has a final status (NotFound raises: never acknowledged-and-lost)."""
    ends: dict[str, dict[str, Any]] = {}

    def all_final() -> bool:
        for call_id in call_ids:
            if call_id not in ends:
                record = request("call", {"call_id": call_id})
                if record["status"] in FINAL:
                    ends[call_id] = record
        return len(ends) == len(call_ids)

    assert wait_until(all_final, seconds=240, interval=0.2), f"{len(call_ids) - len(ends)} calls never ended"
    return ends


def test_many_concurrent_async_invokes_are_all_acknowledged_and_run(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path)
    acked: list[dict[str, Any]] = []
    burst(platform, 16, 13, lambda t, i: {"t": t, "i": i}, acked)  # 208 calls
    assert len(acked) == 208
    assert all(a["status"] == "PENDING" and a["call_id"] for a in acked)
    ends = final(requester(platform), [a["call_id"] for a in acked])
    for a in acked:
        got = ends[a["call_id"]]
        assert got["status"] == "DONE" and got["params"] == a["sent"], got
        assert got["result"] == f'{{"i": {a["sent"]["i"]}, "t": {a["sent"]["t"]}}}'
    status = requester(platform)("status", {})
    assert status["calls"].get("DONE", 0) >= 208 and status["running"] == 0


def agent_child(platform: Platform) -> int:
    return int((platform.home / "nodes" / "local" / "agent.child.pid").read_text())


def kill_round(platform: Platform, rnd: int, delay: float) -> None:
    """A burst from 8 threads; the agent is killed `delay` s after its first acknowledgement."""
    victim = agent_child(platform)
    stop = threading.Event()
    acked: list[dict[str, Any]] = []

    def kill_after_first_acks() -> None:
        wait_until(lambda: bool(acked), seconds=60, interval=0.005)
        time.sleep(delay)
        os.kill(victim, signal.SIGKILL)
        stop.set()

    killer = threading.Thread(target=kill_after_first_acks)
    killer.start()
    burst(platform, 8, 400, lambda t, i: {"r": rnd, "t": t, "i": i, "s": 0.02}, acked, stop=stop, timeout=5)
    killer.join(120)
    assert stop.is_set() and acked, "the agent was not killed during the burst"
    # its supervisor starts a new agent, which answers once its recovery (Service.start) is done
    assert wait_until(lambda: agent_child(platform) != victim, seconds=60), "the agent was not restarted"
    request = requester(platform)
    assert wait_until(lambda: _answers(request), seconds=120, interval=0.2), "the restarted agent is silent"
    ends = final(request, [a["call_id"] for a in acked])
    statuses = {e["status"] for e in ends.values()}
    assert statuses <= {"DONE", "LOST"}, statuses
    for a in acked:
        got = ends[a["call_id"]]
        assert got["params"] == a["sent"], got
        if got["status"] == "LOST":  # it was RUNNING at the kill: never run a second time
            assert "not run again" in got["error"]
    print(f"round {rnd}: killed {delay:.3f} s after the first of {len(acked)} acknowledgements; "
          f"ends {sorted(statuses)}: " + ", ".join(f"{s} {sum(e['status'] == s for e in ends.values())}"
                                                 for s in sorted(statuses)))


def test_every_acknowledged_call_survives_sigkill_of_the_agent(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path)
    rng = random.Random(SEED)
    for rnd in range(3):
        kill_round(platform, rnd, rng.uniform(0.05, 0.6))


def _answers(request: Callable[..., dict[str, Any]]) -> bool:
    try:
        request("status", {}, timeout=2)
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return True
