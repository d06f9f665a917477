"""WAL checkpoints beside the state file's writer (faasctl_agent/walcheckpoint.py), over
a real state file: a big write's log is copied back by the thread with no further write
to trigger it, and steady small writes keep the log as short as SQLite's own
checkpoints do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from faasctl_agent import walcheckpoint

from faasctl.state import fastpath, groupcommit
from faasctl.state.db import open_engine
from tests.support.waiting import wait_until

FN = {"name": "dice", "version": 1}
BIG = "r" * 10_000_000  # about 2,450 pages: past the checkpoint's threshold on its own


def test_a_big_write_is_checkpointed_by_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_engine(path).dispose()
    writer = groupcommit.GroupCommit(fastpath.connect(path, shared=True), path)
    assert writer.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    num = writer.run(lambda c: fastpath.add_call(c, "u1", FN, {}, False), durable=False)
    assert writer.checkpoints.pending() < walcheckpoint.PAGES  # a small record: nothing to do
    writer.run(lambda c: fastpath.set_call(c, num, {"status": "DONE", "result": BIG}), durable=True)
    # the log is long now: the thread (not the commit) copies it back
    assert wait_until(lambda: writer.checkpoints.runs >= 1 and writer.checkpoints.pending() == 0, 30.0)
    conn = sqlite3.connect(str(path))
    try:
        assert conn.execute("SELECT status, result FROM call WHERE call_num=?", (num,)).fetchone() == ("DONE", BIG)
    finally:
        conn.close()


def test_steady_small_writes_keep_the_log_short(tmp_path: Path) -> None:
    """The thread's checkpoints leave a tail (what was appended while they ran); the
    writer copies it before its next write, so the log starts again from the top. Without
    that, 800 calls left a 21-27 MB log here; SQLite's own checkpoints keep about 4 MB."""
    path = tmp_path / "state.db"
    open_engine(path).dispose()
    writer = groupcommit.GroupCommit(fastpath.connect(path, shared=True), path)
    for i in range(800):
        num = writer.run(lambda c, i=i: fastpath.add_call(c, f"u{i}", FN, {}, False), durable=False)
        writer.run(lambda c, num=num: fastpath.set_call(c, num, {"status": "DONE", "result": "ok"}), durable=True)
    assert writer.checkpoints.runs >= 1
    assert Path(f"{path}-wal").stat().st_size < 10 * 1024 * 1024
