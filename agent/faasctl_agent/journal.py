"""The agent's durable journal of calls and deployed functions (its own SQLite file).

Async calls are written and fsynced before they are acknowledged, so an accepted call
survives an agent crash, and even a power cut; their accepts, starts and ends share
transactions and fsyncs (`record`, groupsync.py), the fsync in a thread. Finished sync
calls are written behind in small batches: the caller already holds the result, and one
fsync per call would cap throughput.
`functions` points at each function's active version; `versions` holds the spec of every
version this node keeps (issue 14), so an old one can be served again after a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from .groupsync import GroupSync
from .protocol import E_RUNTIME, FINAL, AgentFailure
from .walcheckpoint import Checkpointer

log = logging.getLogger("faasctl_agent")
# Written-behind rows kept while the disk is full (each is a finished sync call whose
# caller already has the result); past this the oldest are dropped, so memory stays bounded.
MAX_PENDING = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY, digest TEXT NOT NULL, spec TEXT NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY, function TEXT NOT NULL, digest TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL, result TEXT NOT NULL DEFAULT '', log TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '', start_kind TEXT NOT NULL DEFAULT '',
    queue_ms REAL, start_ms REAL, run_ms REAL, is_async INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    accepted_at REAL NOT NULL, finished_at REAL
);
CREATE TABLE IF NOT EXISTS deps (key TEXT PRIMARY KEY, volume TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, completed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL, digest TEXT NOT NULL, spec TEXT NOT NULL, saved_at REAL NOT NULL,
    PRIMARY KEY (name, digest)
);
"""
# A journal made before `versions` had only the active pointers: they are its versions.
BACKFILL = "INSERT OR IGNORE INTO versions SELECT name, digest, spec, updated_at FROM functions"
CALL_FIELDS = (
    "id", "function", "digest", "params", "status", "result", "log", "error",
    "start_kind", "queue_ms", "start_ms", "run_ms", "is_async", "retries", "attempts", "accepted_at", "finished_at",
)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        with self._writing("open"):
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: safe against a crash of the agent; durable rows are synced by
            # GroupSync in a thread (an fsync would stall the event loop); accept() switches to FULL.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=5000")
            self.db.executescript(SCHEMA)
            self.db.execute(BACKFILL)
        self.checkpoints = Checkpointer(self.db, path)  # in a thread, not in the event loop's commits
        self._pending: list[tuple[Any, ...]] = []
        self.dropped = 0  # written-behind rows given up while the disk stayed full
        self.group = GroupSync(Path(f"{path.resolve()}-wal"), self._write_durable)

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """A write that fails on a full disk rolls back whole and says so in one line."""
        try:
            yield
        except (sqlite3.OperationalError, OSError) as exc:
            if self.db.in_transaction:
                with suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            text = str(exc).lower()
            if "full" in text or "no space" in text:
                raise AgentFailure(E_RUNTIME, f"the agent's disk is full: could not {what} in {self.path}",
                                   f"free space on the filesystem holding {self.path.parent}, then retry") from exc
            raise AgentFailure(E_RUNTIME, f"the agent's journal failed to {what}: {exc}",
                               f"check {self.path} and the disk holding it") from exc

    # calls -------------------------------------------------------------------
    def record(self, call: dict[str, Any]) -> asyncio.Future[None]:
        """Durably record an async call's state; done once on disk (on the event loop)."""
        return self.group.record(_row(call))

    def _write_durable(self, rows: list[tuple[Any, ...]]) -> None:
        """One transaction of GroupSync's rows, with the written-behind ones (its sync covers both)."""
        with self._writing("record the call"):
            self.checkpoints.before_write(self.db)
            self.db.execute("BEGIN")
            self.db.executemany(_UPSERT, self._pending + rows)
            self.db.execute("COMMIT")
        self._pending = []
        self.checkpoints.poke()

    def accept(self, call: dict[str, Any]) -> None:
        """Durably record a call at once, blocking (at start-up, before serving)."""
        self.flush()
        self.db.execute("PRAGMA synchronous=FULL")
        try:
            with self._writing("record the call"):
                self.db.execute(_UPSERT, _row(call))  # its own transaction, fsynced at commit
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.checkpoints.poke()

    def finish_later(self, call: dict[str, Any]) -> None:
        self._pending.append(_row(call))

    def flush(self) -> None:
        """Write the written-behind rows; on a full disk keep them (bounded) for the next try.
        Durable rows still queued are written first (their sync follows), so reads see them."""
        self.group.write_now()
        if not self._pending:
            return
        rows = self._pending
        try:
            with self._writing("write finished calls"):
                self.checkpoints.before_write(self.db)
                self.db.execute("BEGIN")
                self.db.executemany(_UPSERT, rows)
                self.db.execute("COMMIT")
            self.checkpoints.poke()
        except AgentFailure as exc:
            if len(rows) > MAX_PENDING:
                self.dropped += len(rows) - MAX_PENDING
                del rows[:len(rows) - MAX_PENDING]
            log.warning("%s (%s); %d rows kept for later", exc.message, exc.hint, len(rows))
            return
        self._pending = []

    def get(self, call_id: str) -> dict[str, Any] | None:
        self.flush()
        row = self.db.execute(f"SELECT {', '.join(CALL_FIELDS)} FROM calls WHERE id=?", (call_id,)).fetchone()
        if row is None:
            return None
        call = dict(zip(CALL_FIELDS, row))
        call["params"] = json.loads(call["params"])
        call["is_async"] = bool(call["is_async"])
        return call

    def unfinished(self) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM calls WHERE status NOT IN (?,?,?,?)", FINAL)]
        return [c for c in (self.get(i) for i in ids) if c]

    def counts(self) -> dict[str, int]:
        self.flush()
        return dict(self.db.execute("SELECT status, COUNT(*) FROM calls GROUP BY status").fetchall())

    # functions and dependency caches -------------------------------------------
    def save_function(self, name: str, digest: str, spec: dict[str, Any], active: bool = True) -> None:
        """Keep a version's spec; `active` also makes it the one calls without a digest get."""
        text, now = json.dumps(spec), time.time()
        with self._writing("record the function"):
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR REPLACE INTO versions VALUES (?,?,?,?)", (name, digest, text, now))
            if active:
                self.db.execute("INSERT OR REPLACE INTO functions VALUES (?,?,?,?)", (name, digest, text, now))
            self.db.execute("COMMIT")

    def forget_function(self, name: str) -> None:
        with self._writing("forget the function"):
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM functions WHERE name=?", (name,))
            self.db.execute("DELETE FROM versions WHERE name=?", (name,))
            self.db.execute("COMMIT")

    def forget_version(self, name: str, digest: str) -> None:
        """Drop a kept version; never the active one (its pointer row is left alone)."""
        with self._writing("forget the version"):
            self.db.execute("DELETE FROM versions WHERE name=? AND digest=? AND NOT EXISTS "
                            "(SELECT 1 FROM functions WHERE name=? AND digest=?)", (name, digest, name, digest))

    def functions(self) -> list[dict[str, Any]]:
        """The active version's spec of each function."""
        return [json.loads(r[0]) for r in self.db.execute("SELECT spec FROM functions")]

    def active(self, name: str) -> str | None:
        row = self.db.execute("SELECT digest FROM functions WHERE name=?", (name,)).fetchone()
        return str(row[0]) if row else None

    def version(self, name: str, digest: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT spec FROM versions WHERE name=? AND digest=?", (name, digest)).fetchone()
        return json.loads(row[0]) if row else None

    def versions(self, name: str | None = None) -> list[tuple[str, str, dict[str, Any], float]]:
        """(name, digest, spec, saved_at) of every kept version, oldest first; of one function with `name`."""
        where, args = ("WHERE name=?", (name,)) if name is not None else ("", ())
        rows = self.db.execute(f"SELECT name, digest, spec, saved_at FROM versions {where} ORDER BY saved_at", args)
        return [(r[0], r[1], json.loads(r[2]), float(r[3])) for r in rows]

    def deps_volume(self, key: str) -> str | None:
        row = self.db.execute("SELECT volume FROM deps WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def save_deps(self, key: str, volume: str) -> None:
        with self._writing("record the dependency cache"):
            self.db.execute("INSERT OR REPLACE INTO deps VALUES (?,?,?)", (key, volume, time.time()))

    def forget_volume(self, name: str) -> None:
        """A removed volume: neither its completion mark nor a dependency cache naming it stays."""
        with self._writing("forget the volume"):
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM volumes WHERE name=?", (name,))
            self.db.execute("DELETE FROM deps WHERE volume=?", (name,))
            self.db.execute("COMMIT")

    def volume_complete(self, name: str) -> bool:
        """True once a volume's fill finished; a volume without this mark is never trusted."""
        return self.db.execute("SELECT 1 FROM volumes WHERE name=?", (name,)).fetchone() is not None

    def mark_volume(self, name: str, complete: bool = True) -> None:
        with self._writing("record the volume"):
            if complete:
                self.db.execute("INSERT OR REPLACE INTO volumes VALUES (?,?)", (name, time.time()))
            else:
                self.db.execute("DELETE FROM volumes WHERE name=?", (name,))

    def close(self) -> None:
        self.flush()
        self.group.close()
        self.db.close()


_UPSERT = f"INSERT OR REPLACE INTO calls ({', '.join(CALL_FIELDS)}) VALUES ({', '.join('?' * len(CALL_FIELDS))})"


def _row(call: dict[str, Any]) -> tuple[Any, ...]:
    values = dict(call)
    values["params"] = json.dumps(values.get("params"))
    values["is_async"] = int(bool(values.get("is_async")))
    defaults = {"result": "", "log": "", "error": "", "start_kind": "", "retries": 0, "attempts": 0}
    return tuple(values.get(f, defaults.get(f)) for f in CALL_FIELDS)
