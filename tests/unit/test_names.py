"""Names must match the allow-list as a whole: no trailing newline slips through `$`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from faasctl_agent.names import valid_digest, valid_name

from faasctl.api.seed import runtime_name_for
from faasctl.core.names import check_name
from faasctl.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["nl\n", "dice\n", "a\n\n", "\ndice", "a\r", "ok\x00", "dice\u0131", "ａ"])
def test_names_with_control_or_foreign_characters_are_refused(name: str) -> None:
    assert not valid_name(name)
    with pytest.raises(InvalidInput, match="not a valid function name"):
        check_name(name, "function")


def test_good_names_still_pass() -> None:
    for name in ("dice", "a", "x" * 63, "py3_12-slim", "0day"):
        assert valid_name(name), name


def test_digest_must_be_whole() -> None:
    digest = "ab" * 32
    assert valid_digest(digest)
    assert not valid_digest(digest + "\n") and not valid_digest(digest.upper())


def test_seed_runtime_image_with_newline_gets_a_clean_derived_name() -> None:
    assert runtime_name_for("python\n") == "python"


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAASCTL_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "faasctl", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "hint:"))]


@pytest.mark.parametrize("args,what", [
    (["fn", "deploy", "nl\n", "examples/dice", "--runtime", "python"], "function"),
    (["runtime", "add", "nl\n", "--from", "runtimes/python"], "runtime"),
    (["node", "add", "nl\n", "--host", "root@127.0.0.1:1"], "node"),
])
def test_cli_refuses_a_name_with_a_trailing_newline(tmp_path: Path, args: list[str], what: str) -> None:
    proc = run_cli(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert error_lines(proc)[0] == f"error: 'nl\\n' is not a valid {what} name"


def test_options_after_double_dash_give_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "fn", "deploy", "--", "a;id", "examples/dice", "--runtime", "python")
    assert proc.returncode == 2
    lines = error_lines(proc)
    assert lines[0] == "error: Missing option '--runtime' / '-r'."
    assert lines[1].startswith("hint: see `faasctl fn deploy --help`") and "before it" in lines[1]
    assert len(proc.stderr.strip().splitlines()) == 2


def test_bad_name_without_double_dash_is_one_line_too(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "fn", "deploy", "a;id", "examples/dice", "--runtime", "python")
    assert proc.returncode == 2
    assert error_lines(proc)[0] == "error: 'a;id' is not a valid function name"
