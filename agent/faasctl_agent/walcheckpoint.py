"""WAL checkpoints: a big write's in a thread, not inside the COMMIT its caller waits on.

SQLite copies the WAL back into the database (a checkpoint) inside the COMMIT that
takes the log past 1,000 pages, and syncs the database file there. For small rows that
is every few hundred commits, and cheap enough. A 10 MB call result crosses it on its
own commit, which then waits for 10 MB to be copied and synced twice (measured: 55 ms
with the checkpoint, 13 ms without, bench/large_parts.py). Both writers of call
results use this instead of SQLite's own: faasctl's group-commit writer
(faasctl/state/groupcommit.py), whose caller was waiting, and the agent's journal
(journal.py), whose event loop was blocked meanwhile.

The writer's connection turns SQLite's checkpoints off (wal_autocheckpoint=0) and
calls `before_write` before each transaction and `poke` after each commit:
- a commit that added BIG_PAGES or more pokes a thread, which runs a PASSIVE
  checkpoint on a connection of its own while the caller goes on;
- otherwise the writer checkpoints the log itself, on its own connection, before its
  next transaction once the log holds PAGES (SQLite's default threshold): small
  writes cost what they did, only at the start of the next write instead of the end of
  the last (running those in the thread too measured 1.3-1.6x slower per small call,
  its syncs racing every caller's);
- the thread always leaves a tail (what was appended while it ran), and SQLite starts
  the log again from the top only at a write that finds all of it copied back (left
  alone, the file grew to 21-27 MB over 800 small calls); so the writer copies that
  tail itself before its next transaction.
Durability does not change: a checkpoint only moves pages already in the WAL.

The log's length is read from the wal-index header in the `-shm` file (SQLite's
documented WAL format: mxFrame at byte 16, nBackfill at byte 96, native order), one
pread per call. Where that file cannot be read, SQLite's own checkpoints stay on.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
import weakref
from contextlib import suppress
from pathlib import Path

PAGES = 1000  # SQLite's default wal_autocheckpoint
IDLE_S = 5.0  # the thread ends after this long without a poke; the next poke starts another
BUSY_TIMEOUT_S = 30
BIG_PAGES = 256  # a commit that added this many (1 MiB) has its checkpoint in the thread


class Checkpointer:
    def __init__(self, conn: sqlite3.Connection, db_path: Path) -> None:
        """`conn`: the writer's connection to `db_path` (WAL mode), open as long as this is."""
        self.db_path = db_path
        self.runs = 0  # checkpoints run (tests read it)
        self.tail_due = False
        self._before = 0  # pending() when the writer's transaction began
        self._running = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        try:
            self._fd: int | None = os.open(f"{db_path}-shm", os.O_RDONLY)
        except OSError:
            self._fd = None  # no shared wal-index to read: SQLite checkpoints in COMMIT, as it did
            return
        conn.execute("PRAGMA wal_autocheckpoint=0")
        weakref.finalize(self, os.close, self._fd)  # the descriptor goes with the writer

    def pending(self) -> int:
        """Pages in the WAL not yet copied to the database."""
        if self._fd is None:
            return 0
        try:
            header = os.pread(self._fd, 100, 0)
        except OSError:
            return 0
        if len(header) < 100:
            return 0
        max_frame: int = struct.unpack_from("=I", header, 16)[0]
        backfilled: int = struct.unpack_from("=I", header, 96)[0]
        return max(0, max_frame - backfilled)

    def before_write(self, conn: sqlite3.Connection) -> None:
        """Before the writer (`conn`, used by it alone meanwhile) begins a transaction."""
        pending = self.pending()
        if pending and (pending >= PAGES or self.tail_due) and not self.busy():
            self.tail_due = False
            with suppress(sqlite3.Error):  # busy or full: a later write tries again
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.runs += 1
            pending = self.pending()
        self._before = pending

    def poke(self) -> None:
        """After the writer's commit: a big one's checkpoint starts in the thread."""
        if self.pending() - self._before < BIG_PAGES:
            return
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="faasctl-checkpoint", daemon=True)
                self._thread.start()

    def busy(self) -> bool:
        """The thread has a checkpoint to run or is running one."""
        return self._wake.is_set() or self._running

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.runs += 1
        finally:
            self.tail_due = self.pending() > 0  # appended while it ran: before_write copies that
            self._running = False

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.db_path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            while True:
                if not self._wake.wait(IDLE_S):
                    with self._lock:
                        if not self._wake.is_set():
                            self._thread = None
                            return
                self._running = True  # before the wake is cleared: busy() stays true throughout
                self._wake.clear()
                with suppress(sqlite3.Error):  # busy or full: the next poke tries again
                    self._checkpoint(conn)
        finally:
            conn.close()
