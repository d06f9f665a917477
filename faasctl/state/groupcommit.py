"""Group commit: the writes of every thread of a process go to the state file in shared
transactions, so concurrent calls pay for one fsync between them instead of one each.

Why: each call record used to be its own `BEGIN IMMEDIATE` transaction with an fsync
(synchronous=FULL) on the caller's own connection. At 16 caller threads they queued on
SQLite's write lock, whose busy handler sleeps whole milliseconds between tries, and
every one of them waited for its own fsync.

How (leader and followers, the classic group commit): a writer queues its operation. If
no thread leads, it becomes the leader: it takes everything queued, runs it in one
transaction on the process's one writing connection, marks each operation done and
wakes their writers, and repeats until its own is done; then the next waiting writer
leads. While a batch commits (the fsync releases the GIL) the next one fills up. A
follower waits on a condition, not on the leader's lock, so it returns as soon as its
batch is over. One thread alone always leads: a single caller pays no hand-off.

Durability per operation: a `durable` one returns only after a commit made with
synchronous=FULL (the WAL is fsynced, and with it every frame before). Any other
returns after a commit made with synchronous=NORMAL: written to the WAL, which outlives
a crash or SIGKILL of this process, but not a power cut until a later durable commit
(or a checkpoint) syncs it. A batch holding one durable operation commits as FULL.

Across processes nothing changes: each has its own writer, and SQLite's write lock
orders their transactions as before.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..errors import StateError
from . import sqlite

T = TypeVar("T")
MAX_BATCH = 256  # operations per transaction: bounds how long one holds the write lock


class _Op(Generic[T]):
    __slots__ = ("durable", "error", "fn", "result", "done", "committed")

    def __init__(self, fn: Callable[[sqlite3.Connection], T], durable: bool) -> None:
        self.fn, self.durable = fn, durable
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False  # its batch is over (set under the condition's lock)
        self.committed = False


class GroupCommit:
    """The one writer of a state file in this process (see `for_file`)."""

    def __init__(self, conn: sqlite3.Connection, where: Path) -> None:
        self.conn, self.where = conn, where  # opened with check_same_thread=False: only the leader uses it
        self._queue: list[_Op[Any]] = []
        self._cond = threading.Condition()
        self._leading = False
        self._synchronous = ""
        self.batches = 0  # transactions committed: tests and the bench read it

    def run(self, fn: Callable[[sqlite3.Connection], T], durable: bool) -> T:
        """Run `fn(conn)` inside a write transaction shared with other threads' operations.

        `fn` must be one statement's worth of work: it runs under a savepoint of its own,
        so its failure undoes only its changes, and its exception is raised here."""
        op: _Op[T] = _Op(fn, durable)
        with self._cond:
            self._queue.append(op)
            while self._leading and not op.done:
                self._cond.wait()  # a follower: woken when its batch is over, or to lead
            lead = not op.done
            self._leading = self._leading or lead
        if lead:
            self._lead(op)
        if not op.committed:
            raise op.error or StateError("a state file write was interrupted", "run the command again")
        return op.result  # type: ignore[return-value]  # committed: fn's result

    def _lead(self, mine: _Op[Any]) -> None:
        """Commit batches until `mine` is done, then hand the lead to a waiting writer.

        The queue fills while a batch commits (the fsync releases the GIL), so the next
        batch takes everything that came meanwhile."""
        batch: list[_Op[Any]] = []
        try:
            while True:
                with self._cond:
                    for op in batch:
                        op.done = True
                    if mine.done:
                        return
                    self._cond.notify_all()
                    batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                self._commit(batch)
        finally:
            with self._cond:
                for op in batch:
                    op.done = True  # also when the leader was interrupted: their errors are set
                self._leading = False
                self._cond.notify_all()

    def _commit(self, batch: list[_Op[Any]]) -> None:
        conn = self.conn
        try:
            self._set_synchronous("FULL" if any(op.durable for op in batch) else "NORMAL")
            conn.execute(sqlite.BEGIN)
            if len(batch) == 1:  # the transaction is its savepoint
                batch[0].result = batch[0].fn(conn)
            else:
                for op in batch:
                    self._run_one(op)
            conn.execute("COMMIT")
            self.batches += 1
        except BaseException as exc:
            if conn.in_transaction:  # a failed COMMIT (full disk) leaves it open
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            failure = self._failure(exc)
            for op in batch:
                op.error = op.error or failure
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt or SystemExit in the leader: its own thread stops
            return
        for op in batch:
            op.committed = op.error is None

    def _run_one(self, op: _Op[Any]) -> None:
        conn = self.conn
        conn.execute("SAVEPOINT op")
        try:
            op.result = op.fn(conn)
        except Exception as exc:
            if not conn.in_transaction:
                raise  # SQLite gave up the whole transaction (I/O error, full disk): every op failed
            conn.execute("ROLLBACK TO op")
            op.error = self._failure(exc)
        conn.execute("RELEASE op")

    def _failure(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.Error):
            return sqlite.write_error(exc, self.where.parent)
        if isinstance(exc, Exception):
            return exc
        return StateError("a state file write was interrupted", "run the command again")

    def _set_synchronous(self, level: str) -> None:
        if level != self._synchronous:
            self.conn.execute(f"PRAGMA synchronous={level}")
            self._synchronous = level


_writers: weakref.WeakValueDictionary[str, GroupCommit] = weakref.WeakValueDictionary()
_registry = threading.Lock()


def for_file(path: Path, connect: Callable[[Path], sqlite3.Connection]) -> GroupCommit:
    """This process's writer of `path`, opened with `connect` on first need.

    Held weakly: it lives as long as something (a Context) holds it, so a process that
    touches many state files (the tests) does not keep a connection to each."""
    key = str(path.resolve())
    with _registry:
        writer = _writers.get(key)
        if writer is None:
            writer = GroupCommit(connect(path), path)
            _writers[key] = writer
        return writer


def _forget_after_fork() -> None:
    """A forked child must not use its parent's connection or locks."""
    global _writers, _registry
    _writers = weakref.WeakValueDictionary()
    _registry = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
