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
from typing import Any

from .channel import RunnerGone
from .journal import Journal
from .pool import Pool, PoolClosed
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
            try:
                self.journal.accept(call)  # durable before the function sees it: never run twice
            except AgentFailure as exc:  # a full disk: not run, still PENDING, runs after a restart
                pool.release(lease.worker, True)
                call["status"] = "PENDING"
                log.warning("call %s not started: %s", call["id"], exc.message)
                return False
        t0 = time.monotonic()
        healthy = True
        self.in_container += 1
        try:
            message = {"op": "call", "id": call["id"], "params": call["params"],
                       "deadline": time.time() + float(pool.spec["timeout"])}
            if call.get("http"):
                message["http"] = call["http"]  # an HTTP request (serve's /function/NAME), beside params
            reply = await lease.worker.channel.request(message, float(pool.spec["timeout"]))
            status = "DONE" if reply.get("ok") else "ERROR"
            outcome = {"result": reply.get("result", ""), "log": reply.get("log", ""), "error": reply.get("error", "")}
        except asyncio.TimeoutError:
            healthy, status = False, "TIMEOUT"
            outcome = {"error": f"no result within {pool.spec['timeout']} s; container killed"}
        except RunnerGone as exc:
            healthy, status = False, "ERROR"
            if exc.over_limit:
                outcome = {"error": f"output over its limit: {exc}; the container was removed"}
            else:
                cause = await self.stop_cause(lease.worker.cid, pool.spec)
                outcome = {"error": cause or f"the function's container died: {exc}", "log": str(exc)}
        finally:
            self.in_container -= 1
        call["run_ms"] = round((time.monotonic() - t0) * 1000, 3)
        pool.release(lease.worker, healthy)
        self.count(f"starts_{lease.kind}")
        self._finish(call, status, **outcome)
        return healthy

    def _finish(self, call: dict[str, Any], status: str, **values: Any) -> None:
        call.update(values, status=status, finished_at=time.time())
        self.count(f"calls_{status.lower()}")
        if call["is_async"]:
            try:
                self.journal.accept(call)
            except AgentFailure as exc:  # still RUNNING in the journal: LOST after a restart, never rerun
                log.warning("call %s ended %s but was not recorded: %s", call["id"], status, exc.message)
        else:
            self.journal.finish_later(call)

    async def drain(self, timeout: float) -> None:
        """Let calls already inside containers finish (bounded) before a stop."""
        deadline = time.monotonic() + timeout
        while self.in_container and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
