"""`faasctl call list --follow` as a user runs it: its own process, streaming to a pipe,
ended by Ctrl-C (SIGINT, exit 130). Calls made meanwhile by other processes appear as
they finish, an async one too (the follower asks its agent, nobody else polls it)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from tests.support.platform import FAASCTL, REPO, Platform

pytestmark = pytest.mark.integration

HANDLER = "def handle(p):\n    return 'hi ' + str(p.get('n'))\n"
WAIT = 120.0  # a bound on each read, not a timing assertion


def deploy(platform: Platform, tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    src.mkdir()
    (src / "main.py").write_text(HANDLER)
    platform.cli("fn", "deploy", name, str(src), "--runtime", "python", "--handler", "main:handle")


def reader(stream: IO[str]) -> queue.Queue[str]:
    """Lines of `stream` as they come, from a thread (a read never blocks the test)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@contextmanager
def follower(platform: Platform, *args: str) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    proc = subprocess.Popen([*FAASCTL, "call", "list", "--follow", *args], env=platform.env, cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        yield proc, reader(proc.stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_follow_streams_finished_calls_until_ctrl_c(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "fol")
    before = json.loads(platform.cli("invoke", "fol", "-p", "n=0", "--json").stdout)
    with follower(platform, "--function", "fol", "--json") as (proc, lines):
        # the existing call first: once it is printed, the follower is following
        assert json.loads(lines.get(timeout=WAIT))["callNum"] == before["callNum"]
        first = json.loads(platform.cli("invoke", "fol", "-p", "n=1", "--json").stdout)
        platform.cli("invoke", "other-fn-not-followed", check=False)  # another function: filtered out
        async_num = int(platform.cli("invoke", "fol", "-p", "n=2", "--async").stdout)
        seen = [json.loads(lines.get(timeout=WAIT)) for _ in range(2)]
        by_num = {row["callNum"]: row for row in seen}
        assert set(by_num) == {first["callNum"], async_num}, seen
        assert by_num[first["callNum"]]["result"] == "hi 1" and by_num[async_num]["result"] == "hi 2", by_num
        assert by_num[async_num]["status"] == "DONE" and by_num[async_num]["async"] is True
        assert all(row["funcName"] == "fol" for row in seen)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130  # the CLI's exit status for Ctrl-C (errors.ExitCode.INTERRUPTED)


def test_follow_prints_the_recent_calls_then_new_ones_as_lines(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "fol2")
    before = json.loads(platform.cli("invoke", "fol2", "-p", "n=0", "--json").stdout)["callNum"]
    with follower(platform, "--function", "fol2") as (proc, lines):
        assert lines.get(timeout=WAIT).split()[:3] == ["CALL", "FUNCTION", "STATUS"]
        assert lines.get(timeout=WAIT).split()[:3] == [str(before), "fol2", "DONE"]
        for n in (1, 2):
            num = json.loads(platform.cli("invoke", "fol2", "-p", f"n={n}", "--json").stdout)["callNum"]
            cells = lines.get(timeout=WAIT).split()
            assert cells[:3] == [str(num), "fol2", "DONE"] and cells[-2:] == ["hi", str(n)], cells
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130


def test_follow_refuses_a_status_that_never_finishes(platform: Platform) -> None:
    out = platform.cli("call", "list", "--follow", "--status", "PENDING", check=False)
    assert out.returncode == 2 and "never finish" in out.stderr and out.stdout == ""
