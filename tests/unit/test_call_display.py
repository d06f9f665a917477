"""Calls are shown as the user gave them: JSON params, the function's own error line."""

from __future__ import annotations

from typing import Any

import pytest

from faasctl.cli.call import show
from faasctl.core.invoke import check_outcome
from faasctl.errors import FunctionFailed


def _record(**more: Any) -> dict[str, Any]:
    return {"callNum": 3, "funcName": "dice", "status": "DONE", "params": None, "result": "", "error": "", **more}


def test_a_failed_call_names_the_last_error_line_not_a_list() -> None:
    trace = "Traceback (most recent call last):\n  File \"main.py\", line 2\nValueError: boom\n"
    with pytest.raises(FunctionFailed) as caught:
        check_outcome(_record(status="ERROR", error=trace))
    assert caught.value.message == "call 3 failed: ValueError: boom"
    with pytest.raises(FunctionFailed) as empty:
        check_outcome(_record(status="ERROR", error=""))
    assert empty.value.message == "call 3 failed: "


def test_call_get_prints_params_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    show(_record(params={"roll": "4d6", "ok": True, "n": None, "é": [1]}))
    line = next(x for x in capsys.readouterr().out.splitlines() if "params:" in x)
    assert line.strip() == 'params: {"roll": "4d6", "ok": true, "n": null, "é": [1]}'
