"""The in-process CLI harness (tests/support/cli.py) behaves as a process would: its own
environment and working folder, nothing left open after a call, and no overlapping calls."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.support.cli import cli


def open_paths() -> list[str]:
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:  # closed while listing
            continue
    return found


def test_environment_and_folder_apply_to_the_call_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    before = dict(os.environ), os.getcwd()
    listed = cli("runtime", "list", "--json", env={"FAASCTL_HOME": str(home)}, cwd=tmp_path)
    assert listed.stdout.strip() == "[]" and (home / "state.db").exists()  # FAASCTL_HOME applied in process
    assert (dict(os.environ), os.getcwd()) == before


def test_state_connections_are_closed_after_the_call(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"FAASCTL_HOME": str(home)}
    cli("runtime", "list", env=env)
    missing = cli("invoke", "dice", env=env, check=False)  # the sqlite3 fast path
    assert missing.returncode == 3
    assert not [p for p in open_paths() if p.startswith(str(home))]


def test_usage_lines_name_faasctl(tmp_path: Path) -> None:
    assert cli("fn", "--help", env={"FAASCTL_HOME": str(tmp_path)}).stdout.startswith("Usage: faasctl fn ")


def test_overlapping_calls_are_refused(tmp_path: Path) -> None:
    from tests.support import cli as harness

    errors: list[str] = []
    with harness._one_at_a_time:  # as if another thread were inside a call
        def other() -> None:
            try:
                cli("--version", env={"FAASCTL_HOME": str(tmp_path)})
            except AssertionError as exc:
                errors.append(str(exc))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(30)
    assert errors and "process=True" in errors[0]


def test_a_crash_is_status_1_with_its_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from faasctl.cli import main

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(main, "app", boom)
    crashed = cli("--version", env={"FAASCTL_HOME": str(tmp_path)}, check=False)
    assert crashed.returncode == 1 and "RuntimeError: boom" in crashed.stderr
