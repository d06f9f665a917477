"""The agent's journal (agent/faasctl_agent/journal.py) on a real SQLite file in tmp.

Accepted calls are on disk at once; finished sync calls only after a flush (written
behind); what a failed write leaves behind stays bounded. A failing write is made with
`PRAGMA query_only` (the full-disk case, on a real tmpfs, is in tests/integration).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent import journal as journal_module
from faasctl_agent.journal import Journal
from faasctl_agent.protocol import AgentFailure


def call(call_id: str, status: str = "PENDING", **values: Any) -> dict[str, Any]:
    return {"id": call_id, "function": "dice", "digest": "d" * 64, "params": {"roll": "2d6", "n": [1, None]},
            "status": status, "is_async": True, "accepted_at": 1.0, **values}


def on_disk(path: Path) -> dict[str, str]:
    """Status by call id, read through a connection of its own (what another process sees)."""
    with sqlite3.connect(str(path)) as db:
        return dict(db.execute("SELECT id, status FROM calls").fetchall())


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.db")


def test_an_accepted_call_is_on_disk_at_once_and_reads_back_as_given(journal: Journal) -> None:
    journal.accept(call("c1", retries=2))
    assert on_disk(journal.path) == {"c1": "PENDING"}
    got = journal.get("c1")
    assert got is not None
    assert got["params"] == {"roll": "2d6", "n": [1, None]} and got["is_async"] is True
    assert (got["retries"], got["attempts"], got["result"], got["finished_at"]) == (2, 0, "", None)
    assert journal.get("nope") is None
    # accept() fsyncs its own write, then goes back to the written-behind setting
    assert journal.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_finished_sync_calls_are_written_behind_until_a_flush(journal: Journal) -> None:
    for n in range(3):
        journal.finish_later(call(f"s{n}", "DONE", is_async=False, result=str(n), finished_at=2.0))
    assert on_disk(journal.path) == {}
    assert journal.counts() == {"DONE": 3}  # reading flushes first
    assert on_disk(journal.path) == {"s0": "DONE", "s1": "DONE", "s2": "DONE"}
    got = journal.get("s1")
    assert got is not None and (got["is_async"], got["result"]) == (False, "1")


def test_unfinished_lists_only_calls_without_a_final_status(journal: Journal) -> None:
    for status in ("PENDING", "RUNNING", *journal_module.FINAL):
        journal.accept(call(status.lower(), status))
    assert sorted(c["id"] for c in journal.unfinished()) == ["pending", "running"]
    journal.accept(call("running", "LOST", error="the agent restarted"))  # an upsert, not a second row
    assert [c["id"] for c in journal.unfinished()] == ["pending"]
    assert journal.counts() == {"PENDING": 1, "DONE": 1, "ERROR": 1, "TIMEOUT": 1, "LOST": 2}


def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    first = Journal(tmp_path / "journal.db")
    first.accept(call("a1"))
    first.finish_later(call("s1", "DONE", is_async=False))
    first.save_function("dice", "d" * 64, {"name": "dice", "timeout": 5.0})
    first.save_deps("key1", "faasctl-n-deps-key1")
    first.mark_volume("faasctl-n-code-abc")
    first.close()  # flushes the written-behind row
    again = Journal(tmp_path / "journal.db")
    assert sorted(c["id"] for c in again.unfinished()) == ["a1"]
    assert again.get("s1") is not None
    assert again.functions() == [{"name": "dice", "timeout": 5.0}]
    assert again.deps_volume("key1") == "faasctl-n-deps-key1" and again.deps_volume("key2") is None
    assert again.volume_complete("faasctl-n-code-abc")
    again.mark_volume("faasctl-n-code-abc", complete=False)
    again.forget_function("dice")
    assert not again.volume_complete("faasctl-n-code-abc") and again.functions() == []
    again.close()


def test_a_failed_accept_is_one_agent_error_and_records_nothing(journal: Journal) -> None:
    journal.db.execute("PRAGMA query_only=ON")
    with pytest.raises(AgentFailure) as caught:
        journal.accept(call("c1"))
    assert caught.value.message.startswith("the agent's journal failed to record the call")
    assert str(journal.path) in caught.value.hint
    journal.db.execute("PRAGMA query_only=OFF")
    assert on_disk(journal.path) == {} and not journal.db.in_transaction


def test_rows_kept_after_failed_flushes_stay_bounded(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "MAX_PENDING", 4)
    journal.db.execute("PRAGMA query_only=ON")
    for n in range(10):
        journal.finish_later(call(f"s{n}", "DONE", is_async=False))
        journal.flush()  # fails: kept for later, but never more than MAX_PENDING
        assert len(journal._pending) <= 4
    assert journal.dropped == 6
    journal.db.execute("PRAGMA query_only=OFF")
    journal.flush()
    assert sorted(on_disk(journal.path)) == ["s6", "s7", "s8", "s9"]  # the oldest were given up
    assert journal._pending == []
