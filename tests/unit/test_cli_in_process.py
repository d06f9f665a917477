"""The CLI run in process through its Environment (tests/support/cli.py): exit codes,
one-line errors with hints, and output going to the Environment's streams, not sys's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faasctl import __version__
from faasctl.cli.environment import Environment, current, using
from faasctl.cli.output import emit_json, table
from tests.support.cli import cli


def home_env(tmp_path: Path) -> dict[str, str]:
    return {"FAASCTL_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}


def test_version_and_help(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--version", env=home_env(tmp_path)).stdout == f"{__version__}\n"
    assert "Usage:" in cli("--help", env=home_env(tmp_path)).stdout
    assert capsys.readouterr() == ("", "")  # nothing leaked to the real streams


def test_errors_are_one_line_with_hint(tmp_path: Path) -> None:
    missing = cli("invoke", "dice", env=home_env(tmp_path), check=False)
    assert missing.returncode == 3 and missing.stdout == ""
    assert missing.stderr.splitlines()[0].startswith("error: no state file at ")
    assert missing.stderr.splitlines()[1].startswith("hint: deploy a function first")
    usage = cli("nope", env=home_env(tmp_path), check=False)
    assert usage.returncode == 2
    assert usage.stderr.splitlines() == ["error: No such command 'nope'. Did you mean 'node', 'invoke'?",
                                         "hint: see `faasctl --help`"]
    dashdash = cli("invoke", "--", "--runtime", env=home_env(tmp_path), check=False)
    assert dashdash.returncode in (2, 3)
    assert dashdash.returncode != 2 or "everything after `--` is an argument" in dashdash.stderr


def test_empty_lists_on_a_fresh_home(tmp_path: Path) -> None:
    env = home_env(tmp_path)
    assert json.loads(cli("runtime", "list", "--json", env=env).stdout) == []
    listed = cli("node", "list", env=env)
    assert listed.returncode == 0 and listed.stdout == ""


def test_tables_align_and_keep_their_text() -> None:
    out, err = __import__("io").StringIO(), __import__("io").StringIO()
    with using(Environment(stdout_stream=out, stderr_stream=err, environ={})):
        table(["name", "kind", "detail"], [["web1", "ssh", None], ["a-long-node-name", "local", "[red]x" + "y" * 150]])
        table(["name"], [], empty="no nodes")
        emit_json({"ok": True})
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["NAME              KIND   DETAIL",
                         "web1              ssh",
                         "a-long-node-name  local  [red]x" + "y" * 150]  # no wrap, no markup
    assert json.loads("\n".join(lines[3:])) == {"ok": True}
    assert err.getvalue() == "no nodes\n"


def test_environment_decides_colour_and_bars() -> None:
    assert not Environment(stderr_tty=False, environ={}).colour
    assert Environment(stderr_tty=True, environ={}).colour
    assert not Environment(stderr_tty=True, environ={"NO_COLOR": "1"}).colour
    assert Environment(stderr_tty=False, environ={"FAASCTL_PROGRESS": "bars"}).progress_bars
    assert current().environ is None  # outside `using`, the process's own
