"""Group commit of the journal's durable rows (agent/faasctl_agent/groupsync.py), on a
real SQLite file in tmp: rows queued together share one transaction and one sync, no
caller is answered before its row is synced, and rows queued during a sync go together
in the next batch. The sync is held at a gate (a threading.Event) to see the moments
between; the gate then runs the real fdatasync."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent.groupsync import GroupSync, SyncFailed
from faasctl_agent.journal import Journal
from faasctl_agent.protocol import AgentFailure


def call(call_id: str, status: str = "PENDING") -> dict[str, Any]:
    return {"id": call_id, "function": "dice", "digest": "d" * 64, "params": {"n": 1},
            "status": status, "is_async": True, "accepted_at": 1.0}


def on_disk(path: Path) -> dict[str, str]:
    with sqlite3.connect(str(path)) as db:
        return dict(db.execute("SELECT id, status FROM calls").fetchall())


@pytest.fixture
def journal(tmp_path: Path) -> Any:
    journal = Journal(tmp_path / "journal.db")
    yield journal
    journal.close()


def gate(group: GroupSync) -> tuple[threading.Event, threading.Event]:
    """(entered, release): the sync thread sets `entered`, then waits for `release`."""
    entered, release = threading.Event(), threading.Event()
    real = group._sync

    def held() -> None:
        entered.set()
        assert release.wait(60), "the test never released the sync"
        real()

    group._sync = held  # type: ignore[method-assign]
    return entered, release


async def until(event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.001)


def test_many_records_share_one_transaction_and_one_sync(journal: Journal) -> None:
    async def scenario() -> None:
        futures = [journal.record(call(f"c{n}")) for n in range(200)]
        await asyncio.gather(*futures)
    asyncio.run(scenario())
    assert (journal.group.batches, journal.group.syncs) == (1, 1)
    assert len(on_disk(journal.path)) == 200


def test_no_one_is_answered_before_the_sync_and_later_rows_wait_for_the_next(journal: Journal) -> None:
    group = journal.group
    entered, release = gate(group)

    async def scenario() -> None:
        first = [journal.record(call(f"a{n}")) for n in range(5)]
        await until(entered)  # written, syncing
        assert on_disk(journal.path) == {f"a{n}": "PENDING" for n in range(5)}
        later = [journal.record(call(f"b{n}")) for n in range(7)]
        later.append(journal.record(call("a0", "RUNNING")))  # the same call, one step on
        await asyncio.sleep(0.01)
        assert not any(f.done() for f in first + later)
        assert group.batches == 1  # queued behind the sync, not written on their own
        release.set()
        await asyncio.gather(*first)
        await asyncio.gather(*later)
    asyncio.run(scenario())
    assert (group.batches, group.syncs) == (2, 2)  # the 8 later rows: one transaction, one sync
    rows = on_disk(journal.path)
    assert len(rows) == 12 and rows["a0"] == "RUNNING"


def test_a_read_sees_queued_rows_before_their_sync(journal: Journal) -> None:
    entered, release = gate(journal.group)

    async def scenario() -> None:
        journal.record(call("a1"))
        await until(entered)
        waiting = journal.record(call("a1", "DONE"))
        got = journal.get("a1")  # written now, still to be synced
        assert got is not None and got["status"] == "DONE" and not waiting.done()
        release.set()
        await waiting
    asyncio.run(scenario())


def test_a_failed_write_fails_every_caller_of_its_batch_and_the_next_batch_works(journal: Journal) -> None:
    async def scenario() -> None:
        journal.db.execute("PRAGMA query_only=ON")
        results = await asyncio.gather(*(journal.record(call(f"c{n}")) for n in range(3)), return_exceptions=True)
        assert all(isinstance(r, AgentFailure) and "failed to record the call" in r.message for r in results)
        assert not journal.db.in_transaction and on_disk(journal.path) == {}
        journal.db.execute("PRAGMA query_only=OFF")
        await journal.record(call("c9"))
    asyncio.run(scenario())
    assert on_disk(journal.path) == {"c9": "PENDING"}


def test_a_failed_sync_is_a_sync_failure_for_its_callers(journal: Journal, tmp_path: Path) -> None:
    journal.group.wal = tmp_path / "gone" / "journal.db-wal"  # cannot be opened: the sync fails

    async def scenario() -> None:
        with pytest.raises(SyncFailed) as caught:
            await journal.record(call("c1"))
        assert "could not sync its journal" in caught.value.message
        journal.record(call("c2"))  # nobody waits for it: its failure must not go unretrieved
        await journal.group.settle()
    asyncio.run(scenario())
    assert journal.group.syncs == 0


def test_settle_returns_once_everything_recorded_is_synced(journal: Journal) -> None:
    async def scenario() -> list[asyncio.Future[None]]:
        futures = [journal.record(call(f"c{n}")) for n in range(10)]
        await journal.group.settle()
        return futures
    futures = asyncio.run(scenario())
    assert all(f.done() and f.exception() is None for f in futures)
    assert not journal.group.pending() and len(on_disk(journal.path)) == 10


def test_an_accept_whose_sync_failed_is_refused_and_never_runs_after_a_restart(journal: Journal,
                                                                              tmp_path: Path) -> None:
    """Its row reached the WAL, so a restarted agent would find it PENDING and run it,
    although its caller was told no: it is marked ERROR instead."""
    from faasctl_agent.execution import CallRunner

    async def no_cause(cid: str, spec: dict[str, Any]) -> str:
        return ""

    runner = CallRunner(journal, lambda name: None, no_cause)
    journal.group.wal = tmp_path / "gone" / "journal.db-wal"

    async def scenario() -> None:
        with pytest.raises(SyncFailed):
            await runner.accept(call("c1"))
    asyncio.run(scenario())
    journal.flush()
    assert on_disk(journal.path) == {"c1": "ERROR"} and journal.unfinished() == []
