"""Group commit of the journal's durable rows: async accepts, starts and ends share
one transaction and one fsync, and the fsync runs in a thread, not on the event loop.

Why: each async accept was its own transaction with synchronous=FULL on the event loop,
so the agent took one fsync per call and nothing else ran meanwhile, not even a warm
sync call (measured: ~160 accepts/s, docs/benchmarks.md "serve under load").

How: `record(row)` queues the row and returns a future. Once the loop is free (a
callback, so every request of one ZeroMQ drain is queued first) the queue is written in
one transaction on the loop with synchronous=NORMAL: the frames reach the WAL, which
outlives a crash or SIGKILL of the agent, with only write() calls. Then one thread
fdatasyncs the WAL, which puts on disk every frame committed before it (what FULL does
inside COMMIT), and the batch's futures are resolved back on the loop. Rows queued
while a sync runs wait for it to end and go together in the next transaction. Only the
loop uses the connection; the thread touches just the WAL's file descriptor. A
checkpoint cannot drop a committed frame before this sync: SQLite syncs the WAL and then
the database inside a checkpoint, and restarts the WAL only after a complete one.

A reader on the loop may see a row between its commit and its sync (`write_now`), as
faasctl's own group commit allows (faasctl/state/groupcommit.py); nobody is told a row
is durable before it is.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .protocol import E_RUNTIME, AgentFailure

_datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
Row = tuple[Any, ...]


class SyncFailed(AgentFailure):
    """The rows were written to the WAL but could not be put on disk."""


class GroupSync:
    def __init__(self, wal: Path, write: Callable[[list[Row]], None]) -> None:
        """`write(rows)`: one transaction on the loop (raises AgentFailure, rolled back)."""
        self.wal, self.write = wal, write
        self.batches = self.syncs = 0  # tests and the bench read these
        self._queue: list[tuple[Row, asyncio.Future[None]]] = []
        self._unsynced: list[asyncio.Future[None]] = []  # written, waiting for the next sync
        self._syncing = False
        self._scheduled = False
        self._thread: ThreadPoolExecutor | None = None

    def record(self, row: Row) -> asyncio.Future[None]:
        """Queue `row`; the future is done once it is on disk (or failed: AgentFailure)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append((row, future))
        if not self._scheduled and not self._syncing:
            self._scheduled = True
            loop.call_soon(self._kick)
        return future

    def write_now(self) -> None:
        """Commit what is queued (not yet synced) so a reader on the loop sees it."""
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        try:
            self.write([row for row, _ in batch])
        except AgentFailure as exc:
            for _, future in batch:
                _fail(future, exc)
            return
        self.batches += 1
        self._unsynced.extend(future for _, future in batch)

    def pending(self) -> bool:
        return bool(self._queue or self._unsynced or self._syncing)

    async def settle(self) -> None:
        """Until everything recorded so far is on disk (an orderly stop)."""
        while self.pending():
            self.write_now()
            waiting = list(self._unsynced)
            if not self._syncing:
                self._kick()
            await asyncio.gather(*waiting, return_exceptions=True)
            if self._syncing:
                await asyncio.sleep(0.001)  # a sync started by another batch: let it end

    def _kick(self) -> None:
        self._scheduled = False
        if self._syncing:
            return  # its end kicks again
        self.write_now()
        if not self._unsynced:
            return
        batch, self._unsynced = self._unsynced, []
        self._syncing = True
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="faasctl-journal-sync")
        done = asyncio.get_running_loop().run_in_executor(self._thread, self._sync)
        done.add_done_callback(lambda f: self._synced(batch, f))

    def _sync(self) -> None:
        fd = os.open(self.wal, os.O_RDONLY)
        try:
            _datasync(fd)
        finally:
            os.close(fd)

    def _synced(self, batch: list[asyncio.Future[None]], done: asyncio.Future[None]) -> None:
        self._syncing = False
        exc = done.exception() if not done.cancelled() else OSError("the sync was cancelled")
        if exc is None:
            self.syncs += 1
            for future in batch:
                if not future.done():
                    future.set_result(None)
        else:
            failure = SyncFailed(E_RUNTIME, f"the agent could not sync its journal {self.wal}: {exc}",
                                 f"check the disk holding {self.wal.parent}")
            for future in batch:
                _fail(future, failure)
        if self._queue or self._unsynced:
            self._kick()

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
        future.add_done_callback(_consumed)  # a row nobody awaits (a call's end) must not warn


def _consumed(future: asyncio.Future[None]) -> None:
    future.exception()
