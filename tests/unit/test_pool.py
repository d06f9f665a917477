"""Pool logic with stand-in workers (the real containers are covered by integration tests)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from faasctl_agent.pool import Pool, Worker
from faasctl_agent.protocol import AgentFailure


class FakeChannel:
    closed = False


def make_pool(**spec: Any) -> tuple[Pool, list[Worker], list[Worker]]:
    started: list[Worker] = []
    stopped: list[Worker] = []
    base = {"name": "f", "max_concurrency": 2, "queue_limit": 1, "preload": "function", "idle_timeout": 10,
            "min_warm": 0}
    base.update(spec)

    async def start() -> tuple[Worker, str]:
        await asyncio.sleep(0)
        w = Worker(f"c{len(started)}", FakeChannel())  # type: ignore[arg-type]
        started.append(w)
        return w, "cold"

    async def stop(w: Worker) -> None:
        stopped.append(w)

    return Pool(base, start, stop), started, stopped


def test_warm_reuse_cap_queue_and_busy() -> None:
    async def scenario() -> None:
        pool, started, _ = make_pool()
        a, b = await pool.acquire(), await pool.acquire()
        assert (a.kind, b.kind, len(started)) == ("cold", "cold", 2)
        waiter = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0)
        with pytest.raises(AgentFailure, match="busy"):
            await pool.acquire()
        pool.release(a.worker, healthy=True)
        c = await waiter
        assert c.kind == "warm" and c.worker is a.worker and len(started) == 2
        assert pool.size <= pool.max_concurrency

    asyncio.run(scenario())


def test_preload_none_discards_after_each_call() -> None:
    async def scenario() -> None:
        pool, started, stopped = make_pool(preload="none")
        lease = await pool.acquire()
        pool.release(lease.worker, healthy=True)
        await asyncio.sleep(0)
        assert stopped == [lease.worker] and pool.idle == [] and pool.size == 0
        assert (await pool.acquire()).kind == "cold" and len(started) == 2

    asyncio.run(scenario())


def test_reap_keeps_min_warm() -> None:
    async def scenario() -> None:
        pool, _, stopped = make_pool(min_warm=1, max_concurrency=3)
        await pool.prewarm(2)
        assert len(pool.idle) == 2
        pool.reap(now=time.monotonic() + 10_000.0)  # past any idle timeout, whatever the uptime
        await asyncio.sleep(0)
        assert len(pool.idle) == 1 and len(stopped) == 1

    asyncio.run(scenario())


def test_freed_slot_goes_to_one_waiter_only() -> None:
    async def scenario() -> None:
        pool, started, _ = make_pool(preload="none", max_concurrency=2, queue_limit=4)
        a, b = await pool.acquire(), await pool.acquire()
        waiters = [asyncio.ensure_future(pool.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        pool.release(a.worker, healthy=True)  # one slot frees after removal
        for _ in range(5):
            await asyncio.sleep(0)
            assert pool.size <= 2
        assert sum(w.done() for w in waiters) == 1 and len(started) == 3
        pool.release(b.worker, healthy=True)
        for _ in range(5):
            await asyncio.sleep(0)
        assert pool.size <= 2 and sum(w.done() for w in waiters) == 2
        for w in waiters:
            w.cancel()

    asyncio.run(scenario())
