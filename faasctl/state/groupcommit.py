"""Group commit: the writes of every thread of a process go to the state file in shared
transactions, so concurrent calls pay for one fsync between them instead of one each.

Why: each call record used to be its own `BEGIN IMMEDIATE` transaction with an fsync
(synchronous=FULL) on the caller's own connection. At 16 caller threads they queued on
SQLite's write lock, whose busy handler sleeps whole milliseconds between tries, and
every one of them waited for its own fsync.

How (leader and followers, the classic group commit): a writer queues its operation. If
no thread leads, it becomes the leader: it takes everything queued, runs it in one
transaction on the process's one writing connection, commits, and hands the lead on.
A follower waits on a condition, not on a lock, so it returns as soon as its batch is
over. One thread alone always leads: a single caller pays no hand-off.

Durability per operation. Every batch commits with synchronous=NORMAL: the frames are
in the WAL, which outlives a crash or SIGKILL of this process, but not a power cut. A
batch with a `durable` operation is then synced by its leader: fdatasync of the WAL,
which puts on disk every frame committed before it (what synchronous=FULL does inside
COMMIT). Doing it after COMMIT rather than inside it is the point: SQLite holds its
write lock through the fsync of a FULL commit, so nobody could write meanwhile; here the
next leader commits the next batch (the PENDING records of new calls, say) while this
one waits for the disk, and a durable operation's writer returns only after the sync.
The price: another connection may read a durable operation's row in the moment
between its commit and its sync (as it may read any unsynced row); a power cut then
would take that row back.

Across processes nothing changes: each has its own writer, and SQLite's write lock
orders their transactions as before.

On PostgreSQL (a pg.PgConnection) the batching is the same and pg.py's write lock orders
the processes; COMMIT itself puts the batch in the server's WAL on disk, so there is no
sync of our own: a batch without a durable operation commits with
synchronous_commit=off (as SQLite's NORMAL), one with any commits normally.
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

from faasctl_agent.walcheckpoint import Checkpointer

from ..errors import LOCK_HINT, StateError, storage_hint
from . import pg, sqlite

T = TypeVar("T")
_datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
MAX_BATCH = 256  # operations per transaction: bounds how long one holds the write lock


class _Op(Generic[T]):
    __slots__ = ("durable", "error", "fn", "result", "taken", "done", "committed")

    def __init__(self, fn: Callable[[sqlite3.Connection], T], durable: bool) -> None:
        self.fn, self.durable = fn, durable
        self.result: T | None = None
        self.error: BaseException | None = None
        self.taken = False  # a leader has it in a batch (these two change under the condition's lock)
        self.done = False  # its batch is over: committed (and synced, if durable) or failed
        self.committed = False


class GroupCommit:
    """The one writer of a state file in this process (see `for_file`)."""

    def __init__(self, conn: sqlite3.Connection, where: Path) -> None:
        self.conn, self.where = conn, where  # opened with check_same_thread=False: only the leader uses it
        self._queue: list[_Op[Any]] = []
        self._cond = threading.Condition()
        self._leading = False
        self._committed = self._synced = 0  # durable batches committed; all of them up to _synced are on disk
        self._syncing = False
        self.server = bool(getattr(conn, "url", ""))  # PostgreSQL: its COMMIT is the sync
        self.batches = self.syncs = 0  # transactions committed, WAL syncs: tests and the bench read these
        if self.server:
            return
        conn.execute("PRAGMA synchronous=NORMAL")  # this writer syncs the WAL itself, outside the lock
        # SQLite keeps the WAL beside the resolved file while a connection (this one) is open
        self.wal = Path(f"{where.resolve()}-wal")
        if not self.wal.exists():
            raise StateError(f"the state file {where} has no write-ahead log at {self.wal}",
                             "open it once with any faasctl command that changes state, then retry")
        self.checkpoints = Checkpointer(conn, where.resolve())  # off the commit's path (walcheckpoint.py)

    def run(self, fn: Callable[[sqlite3.Connection], T], durable: bool) -> T:
        """Run `fn(conn)` inside a write transaction shared with other threads' operations.

        `fn` must be one statement's worth of work: it runs under a savepoint of its own,
        so its failure undoes only its changes, and its exception is raised here."""
        op: _Op[T] = _Op(fn, durable)
        with self._cond:
            self._queue.append(op)
        while True:
            with self._cond:
                while not op.done and (op.taken or self._leading):
                    self._cond.wait()  # woken when its batch is over, or to lead
                if op.done:
                    break
                self._leading = True
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                for queued in batch:
                    queued.taken = True
            self._lead(batch)
        if not op.committed:
            raise op.error or StateError("a state file write was interrupted", "run the command again")
        return op.result  # type: ignore[return-value]  # committed: fn's result

    def _lead(self, batch: list[_Op[Any]]) -> None:
        """Commit `batch`, hand the lead on, then sync the WAL if the batch needs it.

        The sync runs outside SQLite's write lock and outside the lead: while it waits
        for the disk, the next leader commits what queued meanwhile."""
        generation = 0
        try:
            self._commit(batch)
        finally:
            with self._cond:
                self._leading = False
                if not self.server and any(op.durable and op.committed for op in batch):
                    self._committed += 1
                    generation = self._committed
                for op in batch:
                    op.done = op.done or not (generation and op.committed and op.durable)
                self._cond.notify_all()
        if generation:
            failure: StateError | None = None
            try:
                self._synced_through(generation)
            except OSError as exc:
                failure = StateError(f"state file error: could not sync {self.wal}: {exc}",
                                     storage_hint(str(exc), self.where.parent, LOCK_HINT))
            except BaseException:
                failure = StateError("a state file write was interrupted", "run the command again")
                raise  # KeyboardInterrupt or SystemExit: this thread stops
            finally:
                with self._cond:
                    for op in batch:
                        if failure is not None and op.durable and op.committed:  # not known to be on disk
                            op.committed, op.error = False, failure
                        op.done = True
                    self._cond.notify_all()

    def _synced_through(self, generation: int) -> None:
        """Return once a sync that began after durable commit number `generation` has ended.

        One sync at a time: a batch committed while one runs waits for the next, which
        covers every commit before it began, so concurrent batches share a sync too."""
        with self._cond:
            while self._synced < generation and self._syncing:
                self._cond.wait()
            if self._synced >= generation:
                return
            self._syncing, target = True, self._committed
        synced = False
        try:
            self._sync()
            synced = True
        finally:
            with self._cond:
                self._syncing = False
                if synced:
                    self._synced = max(self._synced, target)
                self._cond.notify_all()

    def _sync(self) -> None:
        """Put the WAL on disk: with it every frame committed before, by any connection.
        (It cannot be gone: SQLite removes it only when the last connection closes.)"""
        fd = os.open(self.wal, os.O_RDONLY)
        try:
            _datasync(fd)
            self.syncs += 1
        finally:
            os.close(fd)

    def _commit(self, batch: list[_Op[Any]]) -> None:
        conn = self.conn
        try:
            if not self.server:
                self.checkpoints.before_write(conn)  # only this leader uses conn now
            conn.execute(sqlite.BEGIN)
            if self.server and not any(op.durable for op in batch):
                conn.execute(pg.LAZY_COMMIT)
            if len(batch) == 1:  # the transaction is its savepoint
                batch[0].result = batch[0].fn(conn)
            else:
                for op in batch:
                    self._run_one(op)
            conn.execute("COMMIT")
            if not self.server:
                self.checkpoints.poke()  # still leading: the next leader must not copy this batch inline
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


_writers: weakref.WeakValueDictionary[str, GroupCommit] = weakref.WeakValueDictionary()
_registry = threading.Lock()


def for_file(path: Path, connect: Callable[..., sqlite3.Connection], url: str = "") -> GroupCommit:
    """This process's writer of `path` (or of the database at `url`), opened with `connect`
    on first need.

    Held weakly: it lives as long as something (a Context) holds it, so a process that
    touches many state files (the tests) does not keep a connection to each."""
    key = url or str(path.resolve())
    with _registry:
        writer = _writers.get(key)
        if writer is None:
            writer = GroupCommit(connect(path, url=url) if url else connect(path), path)
            _writers[key] = writer
        return writer


def _forget_after_fork() -> None:
    """A forked child must not use its parent's connection or locks."""
    global _writers, _registry
    _writers = weakref.WeakValueDictionary()
    _registry = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
