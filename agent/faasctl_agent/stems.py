"""Stem cells: started, generic containers of one runtime, for preload `runtime`.

A stem cell is a container of the runtime's image whose runner is up and waiting, with
empty code and dependency volumes and no function yet. The first call of a function
with preload `runtime` takes one and specialises it (limits, code, dependencies copied
in, handler imported): the cost of a container start and an interpreter start is paid
before the call instead of during it. The pool refills itself in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .pool import Worker

log = logging.getLogger("faasctl_agent")


class StemPool:
    def __init__(self, key: str, size: int, start: Callable[[], Awaitable[Worker]],
                 stop: Callable[[Worker], Awaitable[None]]) -> None:
        self.key = key
        self.size = size
        self._start, self._stop = start, stop
        self.idle: list[Worker] = []
        self.starting = 0
        self.closed = False
        self._refill: asyncio.Task[None] | None = None

    def take(self) -> Worker | None:
        """An idle stem cell if one is ready (never waits); starts a refill either way."""
        worker = None
        while self.idle and worker is None:
            candidate = self.idle.pop()
            if candidate.channel.closed:
                asyncio.ensure_future(self._stop(candidate))
            else:
                worker = candidate
        self.refill()
        return worker

    def refill(self) -> None:
        if not self.closed and (self._refill is None or self._refill.done()):
            self._refill = asyncio.ensure_future(self._fill())

    async def _fill(self) -> None:
        failures = 0
        while not self.closed and len(self.idle) + self.starting < self.size and failures < 3:
            self.starting += 1
            try:
                worker = await self._start()
            except Exception as exc:  # keep serving cold starts; say why stems are missing
                failures += 1
                log.warning("stem cell for %s did not start: %s", self.key, exc)
                continue
            finally:
                self.starting -= 1
            if self.closed:
                await self._stop(worker)
            else:
                self.idle.append(worker)

    async def close(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, []
        for worker in idle:
            await self._stop(worker)
