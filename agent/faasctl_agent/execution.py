"""Running one call from acceptance to its journalled end.

The rules that make calls trustworthy live here. An async call is journalled durably
as RUNNING before its container sees it, so after a crash it can only show up as LOST,
never be run a second time. An async call still queued when the agent stops in an
orderly way stays PENDING and runs after the restart. Retries are opt-in and only
follow a function's own failure (ERROR), never a timeout or a lost container.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from .channel import RunnerGone
from .groupsync import SyncFailed
from .journal import Journal
from .pool import Lease, Pool, PoolClosed
from .protocol import E_BUSY, AgentFailure

log = logging.getLogger("faasctl_agent")


class CallRunner:
    def __init__(self, journal: Journal, count: Callable[[str], None],
                 stop_cause: Callable[[str, dict[str, Any]], Awaitable[str]]) -> None:
        self.journal = journal
        self.count = count
        self.stop_cause = stop_cause  # why a container died (out of memory...), asked of the engine
        self.running = 0  # calls between acceptance and their end (queued or in a container)
        self.in_container = 0

    async def run(self, pool: Pool, call: dict[str, Any]) -> None:
        """Run to the end and journal the outcome; raises only "busy" for sync calls."""
        self.running += 1
        try:
            attempts = 1 + int(call.get("retries") or 0)
            for attempt in range(attempts):
                call["attempts"] = attempt + 1
                if not await self._attempt(pool, call) or call["status"] != "ERROR":
                    break
        finally:
            self.running -= 1

    async def _attempt(self, pool: Pool, call: dict[str, Any]) -> bool:
        """One try; False when the call must not be retried or finished now."""
        try:
            lease = await pool.acquire()
        except PoolClosed:
            if call["is_async"]:
                return False  # agent stopping: stays PENDING in the journal, runs after restart
            self._finish(call, "ERROR", error="the agent is stopping or the function was replaced")
            return False
        except AgentFailure as exc:
            self._finish(call, "ERROR", error=exc.message + (f" ({exc.hint})" if exc.hint else ""))
            if exc.code == E_BUSY and not call["is_async"]:
                raise
            return False
        call.update(status="RUNNING", start_kind=lease.kind, queue_ms=round(lease.queue_s * 1000, 3),
                    start_ms=round(lease.start_s * 1000, 3))
        if call["is_async"]:
            try:  # durable before the function sees it: never run twice (a power cut included)
                await self.journal.record(call)
            except AgentFailure as exc:  # a full disk: not run, still PENDING, runs after a restart
                pool.release(lease.worker, True)
                call["status"] = "PENDING"
                log.warning("call %s not started: %s", call["id"], exc.message)
                return False
        t0 = time.monotonic()
        self.in_container += 1
        try:
            message = self._message(call, pool)
            reply: dict[str, Any] | None = await lease.worker.channel.request(message, self._timeout(pool))
            err: BaseException | None = None
        except (asyncio.TimeoutError, RunnerGone) as exc:
            reply, err = None, exc
        finally:
            self.in_container -= 1
        self._count_raw(reply)
        healthy, status, outcome = await self._outcome(pool, lease, reply, err)
        self._end(pool, lease, call, t0, healthy, status, outcome)
        return healthy

    def start_warm(self, pool: Pool, lease: Lease, call: dict[str, Any], finished: Callable[[], None]) -> None:
        """A sync call on an idle warm worker, driven by callbacks: no task, no future.

        The same steps as `_attempt` after its lease (a sync call is never journalled
        before it runs, nor retried); `finished()` runs once the call record is final.
        """
        self.running += 1
        self.in_container += 1
        call.update(attempts=1, status="RUNNING", start_kind=lease.kind, queue_ms=0.0, start_ms=0.0)
        t0 = time.monotonic()

        def done(reply: dict[str, Any] | None, err: BaseException | None) -> None:
            self.in_container -= 1
            if isinstance(err, RunnerGone) and not err.over_limit:  # rare: ask the engine why, in a task
                asyncio.ensure_future(self._end_slowly(pool, lease, call, t0, err, finished))
                return
            try:
                self._count_raw(reply)
                healthy, status, outcome = _plain_outcome(pool, reply, err)
                self._end(pool, lease, call, t0, healthy, status, outcome)
            finally:  # the caller gets an answer whatever happened
                self.running -= 1
                finished()

        lease.worker.channel.submit(self._message(call, pool), self._timeout(pool), done)

    async def _end_slowly(self, pool: Pool, lease: Lease, call: dict[str, Any], t0: float, err: BaseException,
                          finished: Callable[[], None]) -> None:
        try:
            healthy, status, outcome = await self._outcome(pool, lease, None, err)
            self._end(pool, lease, call, t0, healthy, status, outcome)
        finally:
            self.running -= 1
            finished()

    def _count_raw(self, reply: dict[str, Any] | None) -> None:
        if reply is not None and "result_bytes" in reply:  # came as raw bytes (framing.ReplyFramer)
            self.count("results_raw")

    @staticmethod
    def _message(call: dict[str, Any], pool: Pool) -> dict[str, Any]:
        # "raw": a large result may come as raw bytes after its header (framing.ReplyFramer)
        message = {"op": "call", "id": call["id"], "params": call["params"],
                   "deadline": time.time() + float(pool.spec["timeout"]), "raw": True}
        if call.get("http"):
            message["http"] = call["http"]  # an HTTP request (serve's /function/NAME), beside params
        return message

    @staticmethod
    def _timeout(pool: Pool) -> float:
        return float(pool.spec["timeout"])

    async def _outcome(self, pool: Pool, lease: Lease, reply: dict[str, Any] | None,
                       err: BaseException | None) -> tuple[bool, str, dict[str, Any]]:
        """(healthy, status, fields) of a call's end; a dead container's cause is asked of the engine."""
        if isinstance(err, RunnerGone) and not err.over_limit:
            cause = await self.stop_cause(lease.worker.cid, pool.spec)
            return False, "ERROR", {"error": cause or f"the function's container died: {err}", "log": str(err)}
        return _plain_outcome(pool, reply, err)

    def _end(self, pool: Pool, lease: Lease, call: dict[str, Any], t0: float, healthy: bool, status: str,
             outcome: dict[str, Any]) -> None:
        call["run_ms"] = round((time.monotonic() - t0) * 1000, 3)
        pool.release(lease.worker, healthy)
        self.count(f"starts_{lease.kind}")
        self._finish(call, status, **outcome)

    def _finish(self, call: dict[str, Any], status: str, **values: Any) -> None:
        call.update(values, status=status, finished_at=time.time())
        self.count(f"calls_{status.lower()}")
        if call["is_async"]:  # durable soon, nobody waits: until then a crash leaves it RUNNING (LOST)
            self.journal.record(call).add_done_callback(partial(_unrecorded, call["id"], status))
        else:
            self.journal.finish_later(call)

    async def accept(self, call: dict[str, Any]) -> None:
        """Journal a new async call durably; raises AgentFailure if it is not, then it never runs."""
        try:
            await self.journal.record(call)
        except SyncFailed:  # in the WAL but maybe not on disk: must not run after a restart either
            self.journal.finish_later({**call, "status": "ERROR", "finished_at": time.time(),
                                       "error": "refused: the agent could not sync its journal"})
            raise

    async def drain(self, timeout: float) -> None:
        """Let calls already inside containers finish (bounded) before a stop."""
        deadline = time.monotonic() + timeout
        while self.in_container and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


def _unrecorded(call_id: str, status: str, done: asyncio.Future[None]) -> None:
    exc = done.exception()
    if isinstance(exc, AgentFailure):  # still RUNNING in the journal: LOST after a restart, never rerun
        log.warning("call %s ended %s but was not recorded: %s", call_id, status, exc.message)


def _plain_outcome(pool: Pool, reply: dict[str, Any] | None,
                   err: BaseException | None) -> tuple[bool, str, dict[str, Any]]:
    """A call's end that needs no question to the engine: a reply, a timeout, an oversized reply."""
    if reply is not None:
        status = "DONE" if reply.get("ok") else "ERROR"
        return True, status, {"result": reply.get("result", ""), "log": reply.get("log", ""),
                              "error": reply.get("error", "")}
    if isinstance(err, RunnerGone):
        return False, "ERROR", {"error": f"output over its limit: {err}; the container was removed"}
    return False, "TIMEOUT", {"error": f"no result within {pool.spec['timeout']} s; container killed"}
