"""Retries at the agent (agent/faasctl_agent/execution.py): a real Pool and a real journal
in tmp; only the container's runner channel is a stand-in that replays given replies.

Retries are opt-in, bounded by `retries`, and follow only the function's own failure
(ERROR): never a timeout, never a container that died.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from faasctl_agent.channel import RunnerGone
from faasctl_agent.execution import CallRunner
from faasctl_agent.journal import Journal
from faasctl_agent.pool import Pool, Worker


class ScriptedChannel:
    """Answers each request with the next outcome: a reply dict or an exception."""

    closed = False

    def __init__(self, outcomes: list[dict[str, Any] | BaseException]) -> None:
        self.outcomes = outcomes
        self.requests: list[dict[str, Any]] = []

    async def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.requests.append(message)
        outcome = self.outcomes[len(self.requests) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


FAIL = {"ok": False, "error": "ValueError: boom", "log": ""}
OK = {"ok": True, "result": "7", "log": ""}


def run_call(tmp_path: Path, outcomes: list[dict[str, Any] | BaseException], retries: int,
             is_async: bool = True) -> tuple[dict[str, Any], ScriptedChannel, Journal]:
    channel = ScriptedChannel(outcomes)
    journal = Journal(tmp_path / "journal.db")
    counted: list[str] = []

    async def start() -> tuple[Worker, str]:
        return Worker("c1", channel), "cold"  # type: ignore[arg-type]

    async def stop(worker: Worker) -> None:
        channel.closed = True

    async def stop_cause(cid: str, spec: dict[str, Any]) -> str:
        return "out of memory (limit 64 MB)"

    spec = {"name": "dice", "max_concurrency": 1, "queue_limit": 0, "preload": "function", "idle_timeout": 10,
            "min_warm": 0, "timeout": 5.0}
    call = {"id": "call1", "function": "dice", "digest": "d" * 64, "params": {"n": 1}, "status": "PENDING",
            "is_async": is_async, "retries": retries, "accepted_at": 1.0}

    async def scenario() -> None:
        await CallRunner(journal, counted.append, stop_cause).run(Pool(spec, start, stop), call)
        await asyncio.sleep(0)  # let a discarded worker's stop run

    asyncio.run(scenario())
    return call, channel, journal


def test_a_failed_call_is_retried_until_it_succeeds(tmp_path: Path) -> None:
    call, channel, journal = run_call(tmp_path, [FAIL, FAIL, OK], retries=2)
    assert (call["status"], call["attempts"], call["result"]) == ("DONE", 3, "7")
    assert len(channel.requests) == 3 and {m["id"] for m in channel.requests} == {"call1"}
    stored = journal.get("call1")
    assert stored is not None and (stored["status"], stored["attempts"]) == ("DONE", 3)


def test_retries_are_bounded(tmp_path: Path) -> None:
    call, channel, journal = run_call(tmp_path, [FAIL] * 10, retries=2)
    assert (call["status"], call["attempts"], call["error"]) == ("ERROR", 3, "ValueError: boom")
    assert len(channel.requests) == 3
    stored = journal.get("call1")
    assert stored is not None and stored["status"] == "ERROR"


def test_no_retries_unless_asked(tmp_path: Path) -> None:
    call, channel, _ = run_call(tmp_path, [FAIL, OK], retries=0)
    assert (call["status"], call["attempts"], len(channel.requests)) == ("ERROR", 1, 1)


def test_a_timeout_is_never_retried(tmp_path: Path) -> None:
    call, channel, _ = run_call(tmp_path, [asyncio.TimeoutError(), OK], retries=3)
    assert (call["status"], call["attempts"], len(channel.requests)) == ("TIMEOUT", 1, 1)
    assert call["error"] == "no result within 5.0 s; container killed"


def test_a_dead_container_is_never_retried(tmp_path: Path) -> None:
    call, channel, _ = run_call(tmp_path, [RunnerGone("stream closed"), OK], retries=3)
    assert (call["status"], call["attempts"], len(channel.requests)) == ("ERROR", 1, 1)
    assert call["error"] == "out of memory (limit 64 MB)"  # the engine's reason, not the broken stream
