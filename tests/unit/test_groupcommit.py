"""Group commit (faasctl/state/groupcommit.py) over a real state file: batching, the
sync a durable operation waits for, a failing operation, the bound on a batch, one
writer per process and file, and two processes writing at once. What is not about the
SQLite file's own sync runs on PostgreSQL too (`backend`)."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from faasctl.config import Settings
from faasctl.core.context import Context
from faasctl.errors import StateError
from faasctl.state import fastpath, groupcommit
from faasctl.state.db import open_engine
from tests.support.backends import Backend

FN = {"name": "dice", "version": 1}
NORMAL = 1  # PRAGMA synchronous: the writer's commits never fsync inside SQLite's lock


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    open_engine(path).dispose()
    return path


@pytest.fixture
def store(backend: Backend) -> Backend:
    """A new state on either back end."""
    backend.engine().dispose()
    return backend


def writer(path: Path, url: str = "") -> groupcommit.GroupCommit:
    return groupcommit.GroupCommit(fastpath.connect(path, shared=True, url=url), path)


def add(uid: str, seen: list[int] | None = None) -> Callable[[sqlite3.Connection], int]:
    """An insert that also notes the synchronous level of the transaction it ran in."""
    def op(conn: sqlite3.Connection) -> int:
        if seen is not None:
            seen.append(int(conn.execute("PRAGMA synchronous").fetchone()[0]))
        return fastpath.add_call(conn, uid, FN, {"uid": uid}, False)
    return op


def calls(path: Path, url: str = "") -> dict[str, tuple[int, str]]:
    conn = fastpath.connect(path, url=url)
    return {r["uid"]: (r["call_num"], r["status"]) for r in conn.execute("SELECT uid, call_num, status FROM call")}


def in_one_batch(w: groupcommit.GroupCommit, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run each job in a thread of its own while this thread stands as the leader, so all
    of them are queued before any runs: the next leader takes them as one batch."""
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except Exception as exc:  # noqa: BLE001  (the test looks at it)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    with w._cond:
        w._leading = True
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(w._queue) < len(jobs):  # a bounded wait for them to queue, not a timing check
        assert time.monotonic() < deadline, "the writers never queued"
        time.sleep(0.001)
    with w._cond:
        w._leading = False
        w._cond.notify_all()
    for t in threads:
        t.join(30)
    return results


def test_alone_a_writer_commits_its_own_operation_and_syncs_only_durable_ones(state: Path) -> None:
    w, seen = writer(state), []
    first = w.run(add("a", seen), durable=False)
    assert (w.batches, w.syncs) == (1, 0)
    second = w.run(add("b", seen), durable=True)
    assert (w.batches, w.syncs) == (2, 1)  # synced before run() returned
    third = w.run(add("c", seen), durable=False)
    assert (first, second, third) == (1, 2, 3) and seen == [NORMAL] * 3
    assert (w.batches, w.syncs) == (3, 1)
    assert calls(state) == {"a": (1, "PENDING"), "b": (2, "PENDING"), "c": (3, "PENDING")}


def test_the_sync_is_of_the_files_write_ahead_log(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = groupcommit._datasync

    def datasync(fd: int) -> None:  # the real sync, noting which file it was
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(groupcommit, "_datasync", datasync)
    w = writer(state)
    w.run(add("a"), durable=True)
    assert synced == [f"{state.resolve()}-wal"]


def test_queued_operations_share_one_transaction_and_one_sync(store: Backend) -> None:
    w = writer(store.path, store.url)
    jobs = [partial(w.run, add(f"u{i}"), durable=(i == 5)) for i in range(12)]
    results = in_one_batch(w, jobs)
    assert (w.batches, w.syncs) == (1, 0 if store.pg else 1)  # PostgreSQL's COMMIT is the sync
    assert sorted(results) == list(range(1, 13))  # each got its own call number
    assert {uid: num for uid, (num, _) in calls(store.path, store.url).items()} == {
        f"u{i}": results[i] for i in range(12)}


def test_a_batch_of_lazy_operations_is_not_synced(state: Path) -> None:
    w = writer(state)
    in_one_batch(w, [partial(w.run, add(f"u{i}"), durable=False) for i in range(4)])
    assert (w.batches, w.syncs) == (1, 0)


def test_a_failed_sync_fails_the_durable_operations_only(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:  # the disk's answer to a flush, injected
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(groupcommit, "_datasync", broken)
    w = writer(state)
    results = in_one_batch(w, [partial(w.run, add("lazy"), durable=False), partial(w.run, add("sure"), durable=True)])
    assert results[0] == 1
    assert isinstance(results[1], StateError) and "could not sync" in results[1].message and results[1].hint
    monkeypatch.undo()
    assert w.run(add("next"), durable=True) == 3 and w.syncs == 1


def test_batches_committed_during_a_sync_share_the_next_one(state: Path) -> None:
    w = writer(state)
    with w._cond:
        w._syncing = True  # as if a sync were running: batches committed now wait for the next one
    threads = []
    for n in (1, 2):  # two batches, one after the other
        threads.append(threading.Thread(target=w.run, args=(add(f"u{n}"), True)))
        threads[-1].start()
        deadline = time.monotonic() + 30
        while w._committed < n:  # a bounded wait for its commit, not a timing check
            assert time.monotonic() < deadline, "the batch never committed"
            time.sleep(0.001)
    assert all(t.is_alive() for t in threads)  # committed, not answered: not synced yet
    with w._cond:
        w._syncing = False
        w._cond.notify_all()
    for t in threads:
        t.join(30)
    assert (w.batches, w.syncs) == (2, 1)


def test_a_failing_operation_fails_alone(store: Backend) -> None:
    state, url = store.path, store.url
    w = writer(state, url)
    w.run(add("taken"), durable=True)

    def broken(conn: sqlite3.Connection) -> int:
        fastpath.add_call(conn, "half", FN, {}, False)  # undone with it: its savepoint rolls back
        raise ValueError("not JSON")

    jobs = [partial(w.run, add("ok1"), durable=True), partial(w.run, add("taken"), durable=True),
            partial(w.run, broken, durable=True), partial(w.run, add("ok2"), durable=False)]
    results = in_one_batch(w, jobs)
    assert w.batches == 2
    assert isinstance(results[1], StateError) and "unique" in results[1].message.lower() and results[1].hint
    assert isinstance(results[2], ValueError)
    assert sorted(calls(state, url)) == ["ok1", "ok2", "taken"]
    assert {results[0], results[3]} == {calls(state, url)["ok1"][0], calls(state, url)["ok2"][0]}


def test_a_lone_failing_operation_leaves_nothing_open(store: Backend) -> None:
    w = writer(store.path, store.url)
    w.run(add("taken"), durable=True)
    with pytest.raises(StateError, match="(?i)unique"):
        w.run(add("taken"), durable=True)
    assert not w.conn.in_transaction
    # a PostgreSQL sequence is not rolled back: the failed insert used number 2
    assert w.run(add("next"), durable=True) == (3 if store.pg else 2)


def test_batches_are_bounded(store: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(groupcommit, "MAX_BATCH", 2)
    w = writer(store.path, store.url)
    results = in_one_batch(w, [partial(w.run, add(f"u{i}"), durable=True) for i in range(5)])
    assert sorted(results) == [1, 2, 3, 4, 5] and w.batches == 3


def test_one_writer_per_process_and_file_held_by_its_contexts(tmp_path: Path) -> None:
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        home.mkdir()
        open_engine(home / "state.db").dispose()
    one, two, other = (Context(Settings(home=h)) for h in (homes[0], homes[0], homes[1]))
    assert one.records is two.records and one.records is not other.records
    key = str((homes[1] / "state.db").resolve())
    assert key in groupcommit._writers
    del other
    gc.collect()
    assert key not in groupcommit._writers  # nothing holds it: its connection is closed


def _write_many(path: str, url: str, prefix: str, n: int, start: Any) -> None:
    w = groupcommit.for_file(Path(path), partial(fastpath.connect, shared=True), url)
    start.wait()
    for i in range(n):
        w.run(add(f"{prefix}{i}"), durable=i % 2 == 1)


def test_two_processes_with_threads_lose_nothing(store: Backend) -> None:
    state, url = store.path, store.url
    spawn = mp.get_context("spawn")
    start = spawn.Event()
    procs = [spawn.Process(target=_write_many, args=(str(state), url, p, 150, start)) for p in ("x", "y")]
    for p in procs:
        p.start()
    w = groupcommit.for_file(state, partial(fastpath.connect, shared=True), url)
    start.set()
    threads = [threading.Thread(target=lambda t=t: [w.run(add(f"t{t}-{i}"), durable=True) for i in range(50)])
               for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    found = calls(state, url)
    assert len(found) == 2 * 150 + 4 * 50
    assert len({num for num, _ in found.values()}) == len(found)
