"""A state file of the first release (tests/support/first_release.py), filled, opened by
this faasctl through real commands in their own processes: every row and value kept, the
new columns filled as their meaning says, the call counts rebuilt, a backup equal to the
old file, one line on stderr, and nothing done the second time. Also: two processes
opening the old file at once migrate it once; a file stamped by a newer faasctl is refused
and left as it was; a migration failing midway rolls back and says why."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from faasctl.errors import StateError
from faasctl.state import revision
from faasctl.state.db import open_engine
from tests.support import first_release

OLD_TABLES = {"node": first_release.NODES, "runtime": first_release.RUNTIMES, "function": first_release.FUNCTIONS,
              "function_version": first_release.VERSIONS, "deployment": first_release.DEPLOYMENTS}


def faasctl(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "faasctl", *args], capture_output=True,
                          text=True, env={**os.environ, "FAASCTL_HOME": str(home)}, timeout=120)


def imported(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}


def said(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "import time:" not in line]


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def backups(home: Path) -> list[Path]:
    return sorted(home.glob("state.db.backup-*"))


def test_a_first_release_file_migrates_on_first_use_and_keeps_everything(tmp_path: Path) -> None:
    home, calls = tmp_path / "home", first_release.calls()
    first_release.make(home / "state.db")
    before = dump(home / "state.db")

    listed = faasctl(home, "fn", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [line] = said(listed)
    [backup] = backups(home)
    assert line == (f"faasctl: migrated the state file {home / 'state.db'} from revision 0001 to {revision.HEAD}; "
                    f"the old file is kept at {backup}")
    assert backup.name.startswith("state.db.backup-0001-") and backup.stat().st_mode & 0o777 == 0o600
    assert dump(backup) == before
    assert {"alembic", "sqlalchemy"} <= imported(listed)

    conn = sqlite3.connect(home / "state.db")
    for table, rows in (*OLD_TABLES.items(), ("call", calls)):
        names = [r[1] for r in sqlite3.connect(backup).execute(f"PRAGMA table_info({table})")]
        kept = conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid").fetchall()
        assert kept == [tuple(r) for r in rows], table
    assert conn.execute("SELECT name, kind, keep_versions FROM function").fetchall() == [
        ("dice", "command", 5), ("sizes", "native", 5)]
    assert conn.execute("SELECT function_name, version, kind, runtime_name, handler, policy FROM function_version"
                        ).fetchall() == [("dice", 1, "command", "python", "", '{"timeout": 5.0}'),
                                         ("dice", 2, "command", "python", "", '{"timeout": 5.0}'),
                                         ("sizes", 1, "native", "custom", "main:handle", "{}")]
    assert {r[0] for r in conn.execute("SELECT runner FROM runtime")} == {"python"}
    assert {r[0] for r in conn.execute("SELECT alias FROM call")} == {""}
    counts = dict(((f, s), n) for f, s, n in conn.execute("SELECT func_name, status, n FROM call_count"))
    truth = dict(((f, s), n) for f, s, n in conn.execute("SELECT func_name, status, count(*) FROM call GROUP BY 1, 2"))
    assert counts == truth and sum(counts.values()) == len(calls)
    conn.close()

    again = faasctl(home, "call", "list", "--json", "--limit", "100")  # at head: nothing to do, no Alembic
    assert again.returncode == 0 and said(again) == [] and backups(home) == [backup]
    assert not {"alembic", "sqlalchemy", "sqlmodel"} & imported(again)
    assert '"async": true' in again.stdout


def test_two_processes_opening_an_old_file_migrate_it_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first_release.make(home / "state.db", n_calls=2000)
    env = {**os.environ, "FAASCTL_HOME": str(home)}
    procs = [subprocess.Popen([sys.executable, "-m", "faasctl", "call", "list", "--json"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outcomes = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert [rc for *_, rc in outcomes] == [0, 0], outcomes
    assert sum(err.count("faasctl: migrated the state file") for _, err, _ in outcomes) == 1
    assert len(backups(home)) == 1
    assert revision.read(sqlite3.connect(home / "state.db")) == revision.HEAD


def test_a_file_from_a_newer_faasctl_is_refused_and_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_engine(home / "state.db").dispose()
    conn = sqlite3.connect(home / "state.db")
    conn.execute("UPDATE alembic_version SET version_num = '0999'")
    conn.commit()
    conn.close()
    digest, before = hashlib.sha256((home / "state.db").read_bytes()).hexdigest(), dump(home / "state.db")

    for args in (("fn", "list"), ("invoke", "dice"), ("fn", "rm", "dice")):
        refused = faasctl(home, *args)
        assert refused.returncode == 11, (args, refused.stderr)
        assert said(refused)[0] == (f"error: state file {home / 'state.db'} was made by a newer faasctl "
                                    f"(revision 0999); this one knows revisions up to {revision.HEAD}"), args
        assert "upgrade faasctl" in said(refused)[1]
    with pytest.raises(StateError, match="newer faasctl"):
        open_engine(home / "state.db")
    assert hashlib.sha256((home / "state.db").read_bytes()).hexdigest() == digest
    assert dump(home / "state.db") == before and backups(home) == []


def test_a_migration_failing_midway_leaves_the_old_file_and_says_why(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first_release.make(home / "state.db")
    conn = sqlite3.connect(home / "state.db")
    conn.execute("CREATE TABLE call_count (x INTEGER)")  # in the way of 0004's counts, after 0002 and 0003 ran
    conn.commit()
    conn.close()
    before = dump(home / "state.db")

    failed = faasctl(home, "fn", "list")
    assert failed.returncode == 11
    message, hint = said(failed)
    assert message.startswith(f"error: cannot migrate the state file {home / 'state.db'} from revision 0001 to "
                              f"{revision.HEAD}: ") and "func_name" in message
    [backup] = backups(home)
    assert "the file is as it was (the migration rolled back)" in hint and str(backup) in hint
    assert dump(home / "state.db") == before == dump(backup)
