"""WAL checkpoints in a thread beside a writer, not inside the writer's commits.

SQLite copies the WAL back into the database (a checkpoint) inside the COMMIT that
takes the log past 1,000 pages, and syncs the database file there. Small rows hit that
every few hundred commits; a 10 MB call result hits it on its own commit, which then
waits for 10 MB to be copied and synced twice (measured: 55 ms with the checkpoint,
13 ms without, bench/large_parts.py). Both writers of call results use this instead:
faasctl's group-commit writer (faasctl/state/groupcommit.py), whose caller was waiting,
and the agent's journal (journal.py), whose event loop was blocked meanwhile. The
writer's connection turns SQLite's own checkpoints off (wal_autocheckpoint=0) and
pokes this after each commit; once the log holds as many pages as SQLite's default
allows, a thread runs the same PASSIVE checkpoint on a connection of its own.
Durability does not change: a checkpoint only moves pages already in the WAL.

The log's length is read from the wal-index header in the `-shm` file (SQLite's
documented WAL format: mxFrame at byte 16, nBackfill at byte 96, native order), one
pread per poke. Where that file cannot be read, SQLite's own checkpoints stay on.
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
TAIL_PAGES = PAGES  # a tail the writer copies itself (before_write): never more than SQLite's own would


class Checkpointer:
    def __init__(self, conn: sqlite3.Connection, db_path: Path) -> None:
        """`conn`: the writer's connection to `db_path` (WAL mode), open as long as this is."""
        self.db_path = db_path
        self.runs = 0  # checkpoints run (tests read it)
        self.tail_due = False
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

    def poke(self) -> None:
        """After a commit: start a checkpoint in the background if the log is long enough."""
        if self.pending() < PAGES:
            return
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="faasctl-checkpoint", daemon=True)
                self._thread.start()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.runs += 1
        self.tail_due = self.pending() > 0  # appended while it ran: before_write copies that

    def before_write(self, conn: sqlite3.Connection) -> None:
        """Called by the writer before it begins a transaction, on its own connection.

        SQLite starts the log again from the top only at a write that finds all of it
        copied back. The thread's checkpoint always leaves a tail (what the writer
        appended while it ran), so left alone the file grew to 30-60 MB under steady
        small writes (4 MB with SQLite's own checkpoints). After each of the thread's
        checkpoints the writer copies the tail itself, when it is short (usually a few
        pages, at most what SQLite's own checkpoint would have copied): its write then
        restarts the log."""
        if not self.tail_due:
            return
        self.tail_due = False
        if 0 < self.pending() <= TAIL_PAGES:
            with suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.db_path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            while True:
                if not self._wake.wait(IDLE_S):
                    with self._lock:
                        if not self._wake.is_set():
                            self._thread = None
                            return
                self._wake.clear()
                with suppress(sqlite3.Error):  # busy or full: the next poke tries again
                    self._checkpoint(conn)
        finally:
            conn.close()
