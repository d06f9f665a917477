"""Runs the synchronous core off the event loop, one Context per worker thread.

Why not one shared Context behind a lock: a lock would serialise every request, and a
sync invocation may hold it for a function's whole run. Why not FastAPI's threadpool
with a threading.local: a Context holds a sqlite3 connection (usable only in the thread
that opened it) and ZeroMQ sockets (not thread-safe), and anyio retires idle threads,
which would strand their sockets. So serve owns a fixed pool of threads that live as
long as the app; each thread lazily builds its own Context on first use (own sqlite3
connection, own agent sockets) and shares only the sqlmodel engine, which is
thread-safe. `close()` stops the threads first, then closes their sockets.

`read()` is the other way in: a read of the state file alone (no agent, no ORM) runs on
the event loop's own thread with a Context of its own. The hand-off to a core thread and
back costs about 90-110 us of CPU (a future, a queue, two thread wake-ups, a pipe write),
which is most of a cheap GET; a WAL reader never waits for a writer, and such reads take
tens of microseconds. Routes use it only where the read is bounded (a name list, one
call, a page of calls) and send anything that may ask a node to a core thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from .context import Context

T = TypeVar("T")
# Requests served at once; a sync invocation holds its thread for the function's run.
CORE_THREADS = 32


class CoreRunner:
    def __init__(self, ctx: Context, threads: int = CORE_THREADS) -> None:
        self.template = ctx
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="faasctl-core")
        self._made: list[Context] = []
        self._lock = threading.Lock()
        self._loop_ctx: Context | None = None  # read(): made and used on the event loop's thread only

    def context(self) -> Context:
        """This thread's Context (made on first use)."""
        ctx: Context | None = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = Context(self.template.settings)
            ctx.probe_inline = False  # type: ignore[attr-defined]  # suspect nodes: the prober's task (api/prober.py)
            with self._lock:  # the first threads would otherwise each open the engine
                ctx.engine = self.template.engine  # one engine (thread-safe pool) for all threads
                self._made.append(ctx)
            self._local.ctx = ctx
        return ctx

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(ctx, *args, **kwargs)` in a core thread with that thread's Context."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(self._in_thread, fn, args, kwargs))

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(ctx, *args, **kwargs)` here, on the event loop's thread (see the module's doc)."""
        ctx = self._loop_ctx
        if ctx is None:
            ctx = self._loop_ctx = Context(self.template.settings)
        return fn(ctx, *args, **kwargs)

    def _in_thread(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        return fn(self.context(), *args, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            made, self._made = self._made, []
        for ctx in made:  # every worker has exited: no socket is in use any more
            ctx.close()
        if self._loop_ctx is not None:
            self._loop_ctx.close()
