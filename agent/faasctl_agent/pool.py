"""Warm containers of one function on one node, under its preload policy.

A pool hands out workers (a started container plus its runner channel) one call at a
time: an idle warm worker first, else a new container while under the concurrency cap,
else a place in a bounded queue; past that the caller gets "busy" at once. Creating a
container is the slow, blocking part, so it runs in a thread and never stalls the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from .channel import Channel
from .protocol import E_BUSY, E_RUNTIME, AgentFailure


class PoolClosed(AgentFailure):
    """The pool stopped taking calls (agent stopping, function replaced or removed)."""


@dataclass
class Worker:
    cid: str
    channel: Channel
    last_used: float = field(default_factory=time.monotonic)
    calls: int = 0
    generation: int = 0  # the pool's generation when its start began (see Pool.recycle)


@dataclass
class Lease:
    worker: Worker
    kind: str  # cold | prewarm | warm
    queue_s: float
    start_s: float


StartFn = Callable[[], Awaitable[tuple[Worker, str]]]  # the worker and its start kind
StopFn = Callable[[Worker], Awaitable[None]]


class Pool:
    def __init__(self, spec: dict[str, Any], start: StartFn, stop: StopFn) -> None:
        self.spec = spec
        self._start, self._stop = start, stop
        self.idle: list[Worker] = []
        self.size = 0  # workers alive or being started, busy or idle
        self.busy = 0
        self.waiters: deque[asyncio.Future[Lease]] = deque()
        self.closed = False
        self.generation = 0
        # A version that is no longer the function's active one (issue 14): it still serves
        # calls addressed to its digest, but keeps no minimum of warm containers.
        self.retired = False

    @property
    def max_concurrency(self) -> int:
        return int(self.spec["max_concurrency"])

    async def acquire(self) -> Lease:
        if self.closed:
            raise PoolClosed(E_RUNTIME, f"function {self.spec['name']} stopped taking calls")
        t0 = time.monotonic()
        lease = self.take_idle()
        if lease is not None:
            return lease
        if self.size < self.max_concurrency:
            self.size += 1  # reserved before any await: the cap holds however calls interleave
            return await self._cold(t0)
        if len(self.waiters) >= int(self.spec["queue_limit"]):
            raise AgentFailure(E_BUSY, f"function {self.spec['name']} is busy: {self.max_concurrency} calls "
                               f"running and {len(self.waiters)} waiting",
                               "retry later, or raise --max-concurrency / the queue limit")
        fut: asyncio.Future[Lease] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        lease = await fut
        lease.queue_s = time.monotonic() - t0 - lease.start_s
        return lease

    def take_idle(self) -> Lease | None:
        """An idle warm worker at once, or None (then `acquire` decides)."""
        if self.closed or not self.idle:
            return None
        self.busy += 1
        return Lease(self.idle.pop(), "warm", 0.0, 0.0)

    async def _cold(self, t0: float) -> Lease:
        """Start a worker in a slot the caller already reserved (size counted)."""
        self.busy += 1
        generation = self.generation
        try:
            worker, kind = await self._start()
        except BaseException:
            self.size -= 1
            self.busy -= 1
            self._wake_waiters()
            raise
        worker.generation = generation
        return Lease(worker, kind, 0.0, time.monotonic() - t0)

    def release(self, worker: Worker, healthy: bool) -> None:
        """Give a worker back after a call; broken or one-shot workers are removed."""
        self.busy -= 1
        worker.last_used = time.monotonic()
        worker.calls += 1
        if (self.closed or not healthy or self.spec["preload"] == "none" or worker.channel.closed
                or worker.generation != self.generation):
            self._discard(worker)
            return
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                self.busy += 1
                fut.set_result(Lease(worker, "warm", 0.0, 0.0))
                return
        self.idle.append(worker)

    def _discard(self, worker: Worker) -> None:
        """Remove a worker; its slot stays taken until the container is really gone, so
        the cap holds even while Docker is still removing it."""

        async def stop_then_free() -> None:
            try:
                await self._stop(worker)
            finally:
                self.size -= 1
                self._wake_waiters()

        asyncio.ensure_future(stop_then_free())

    def _wake_waiters(self) -> None:
        """A slot freed up with callers waiting: start a container for the first."""
        while self.waiters and self.size < self.max_concurrency and not self.closed:
            fut = self.waiters.popleft()
            if fut.done():
                continue
            self.size += 1  # reserve now, not when the task runs, or two waiters could share a slot
            asyncio.ensure_future(self._cold_for(fut))

    async def _cold_for(self, fut: asyncio.Future[Lease]) -> None:
        try:
            lease = await self._cold(time.monotonic())
        except BaseException as exc:  # the waiter gets the failure, not a hang
            if not fut.done():
                fut.set_exception(exc if isinstance(exc, Exception) else AgentFailure(E_RUNTIME, str(exc)))
            return
        if fut.done():
            self.release(lease.worker, True)
        else:
            fut.set_result(lease)

    async def prewarm(self, count: int) -> None:
        """Start containers until `count` are idle (preload `function`, min warm)."""
        while not self.closed and len(self.idle) < count and self.size < self.max_concurrency:
            self.size += 1
            generation = self.generation
            try:
                worker, _ = await self._start()
            except Exception:
                self.size -= 1
                raise
            worker.generation = generation
            if generation != self.generation:  # recycled while it started: it may hold old values
                self._discard(worker)
                continue
            self.idle.append(worker)

    def recycle(self) -> int:
        """Retire every worker started so far (a secret changed): idle ones now, busy ones
        when their call ends; queued callers get new workers. Returns how many are retired."""
        self.generation += 1
        idle, self.idle = self.idle, []
        for worker in idle:
            self._discard(worker)
        return len(idle) + self.busy

    def reap(self, now: float) -> None:
        """Remove idle workers past the idle timeout, keeping the configured minimum (none once retired)."""
        keep = int(self.spec.get("min_warm", 0)) if self.spec["preload"] == "function" and not self.retired else 0
        timeout = float(self.spec["idle_timeout"])
        self.idle.sort(key=lambda w: w.last_used, reverse=True)
        while len(self.idle) > keep and now - self.idle[-1].last_used > timeout:
            self._discard(self.idle.pop())

    async def close(self) -> None:
        """Stop taking calls; idle workers go now, busy ones when their call ends."""
        self.closed = True
        for fut in self.waiters:
            if not fut.done():
                fut.set_exception(PoolClosed(E_RUNTIME, f"function {self.spec['name']} stopped taking calls"))
        self.waiters.clear()
        idle, self.idle = self.idle, []
        for worker in idle:
            self.size -= 1
            await self._stop(worker)
