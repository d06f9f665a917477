"""Progress of faasctl/core/fanout.py as cli/progress.py renders it, with a fake work
function (no network): plain lines when stderr is not a terminal (what scripts and CI
read, unchanged), one bar per node when FAASCTL_PROGRESS=bars forces it, the same
outcomes either way, and nothing at all without a reporter (what serve gets)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console

from faasctl.cli import progress
from faasctl.cli.environment import Environment, current, using
from faasctl.core import fanout
from faasctl.errors import NodeUnreachable


def work(item: str, progress: Callable[[str], None]) -> str:
    """web1 takes three steps, web2 fails at its second, web3 is a no-op re-run (one step)."""
    progress("connect")
    if item == "web3":
        return "same"
    progress("check docker")
    if item == "web2":
        raise NodeUnreachable("node web2: cannot reach it [port 22]", "start it")
    progress("start agent")
    return f"{item} ok"


def check(outcomes: list[fanout.Outcome]) -> None:
    assert [(o.name, o.ok, o.value, o.error) for o in outcomes] == [
        ("web1", True, "web1 ok", ""),
        ("web2", False, None, "node web2: cannot reach it [port 22]"),
        ("web3", True, "same", ""),
    ]
    assert outcomes[1].hint == "start it"


def test_plain_lines_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FAASCTL_PROGRESS", raising=False)
    assert not current().progress_bars  # pytest's captured stderr is not a TTY
    outcomes = fanout.run(["web1", "web2", "web3"], str, work, parallel=2, total=3, reporter=progress.reporter())
    check(outcomes)
    lines = capsys.readouterr().err.splitlines()
    per_node = {n: [ln for ln in lines if ln.startswith(f"  [{n}] ")] for n in ("web1", "web2", "web3")}
    assert per_node["web1"][:3] == ["  [web1]  1. connect", "  [web1]  2. check docker", "  [web1]  3. start agent"]
    assert per_node["web1"][3].startswith("  [web1] done in ") and per_node["web1"][3].endswith(" s")
    assert per_node["web2"][-1] == "  [web2] FAILED: node web2: cannot reach it [port 22]"
    assert per_node["web3"][0] == "  [web3]  1. connect" and per_node["web3"][1].startswith("  [web3] done in ")
    assert sum(len(v) for v in per_node.values()) == len(lines) == 4 + 3 + 2
    assert "\x1b" not in "".join(lines)


def test_lines_forced_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAASCTL_PROGRESS", "lines")
    assert not Environment(stderr_tty=True).progress_bars
    assert Environment(stderr_tty=True, environ={}).progress_bars
    assert not Environment(stderr_tty=True, environ={"TERM": "dumb"}).progress_bars


def test_bars_when_forced(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FAASCTL_PROGRESS", "bars")
    assert current().progress_bars
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120, color_system=None)
    with fanout.reporting(progress.reporter(console)):  # as `fn deploy` scopes it for core
        outcomes = fanout.run(["web1", "web2", "web3"], str, work, parallel=3, total=3)
    check(outcomes)
    assert capsys.readouterr().err == ""  # everything went to the console given
    text = buf.getvalue()
    final = text.rsplit("\x1b[2K", 1)[-1]  # after the live display's last redraw
    rows = {n: next(ln for ln in final.splitlines() if ln.lstrip().startswith(n)) for n in ("web1", "web2", "web3")}
    assert "3/3" in rows["web1"] and "done in" in rows["web1"]
    assert "2/3" in rows["web2"] and "FAILED: node web2: cannot reach it [port 22]" in rows["web2"]
    assert "3/3" in rows["web3"] and "done in" in rows["web3"]  # finished early: its bar completes
    assert text.rstrip().splitlines()[-1].endswith("  [web2] FAILED: node web2: cannot reach it [port 22]")


def test_no_reporter_prints_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FAASCTL_PROGRESS", "bars")
    check(fanout.run(["web1", "web2", "web3"], str, work))
    assert capsys.readouterr() == ("", "")
    assert fanout.run([], str, work) == []


def test_lines_go_to_the_environment_streams(capsys: pytest.CaptureFixture[str]) -> None:
    err = io.StringIO()
    with using(Environment(stdout_stream=io.StringIO(), stderr_stream=err, environ={})):
        check(fanout.run(["web1", "web2", "web3"], str, work, parallel=1, reporter=progress.reporter()))
    assert capsys.readouterr() == ("", "")
    assert err.getvalue().splitlines()[:2] == ["  [web1]  1. connect", "  [web1]  2. check docker"]
