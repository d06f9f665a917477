"""The plain table writer (cli/output.py) draws what rich draws for the same rows, and
rich still draws what the plain one cannot (colour, wide or control characters)."""

from __future__ import annotations

import io

import pytest

from faasctl.cli import output
from faasctl.cli.environment import Environment, using

ROWS = [["fn0", "python", 1, "handler", None, "round-robin", "", 250000, 7390, "1.0", ""],
        ["a-much-longer-name", "py", 12, "command", "none", "pinned", "n1:2,n2:0", 3, 0, "", "12.5"],
        ["x", "", "", "", "", "", "", "", "", "", ""]]
HEADERS = ["name", "runtime", "ver", "mode", "preload", "placement", "warm per node", "calls", "errors", "p50 ms",
           "p99 ms"]


def _draw(rows: list[list[object]], monkeypatch: pytest.MonkeyPatch, plain: bool) -> str:
    if not plain:
        monkeypatch.setattr(output, "_plain", lambda _text: False)
    out, err = io.StringIO(), io.StringIO()
    with using(Environment(stdout_stream=out, stderr_stream=err, stdout_tty=False, environ={})):
        output.table(HEADERS, rows)  # type: ignore[arg-type]
    monkeypatch.undo()
    return out.getvalue()


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], [["only", *[""] * 10]], [["  lead", "trail  ", *["x"] * 9]]])
def test_plain_table_is_what_rich_draws(rows: list[list[object]], monkeypatch: pytest.MonkeyPatch) -> None:
    assert _draw(rows, monkeypatch, plain=True) == _draw(rows, monkeypatch, plain=False)


@pytest.mark.parametrize("cell", ["naïve", "日本", "a\nb", "tab\there", "\x1b[1m"])
def test_other_text_is_left_to_rich(cell: str) -> None:
    assert not output._plain(cell)
