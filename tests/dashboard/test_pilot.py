"""The dashboard driven by textual's Pilot against a real local node (LocalSource).

Deploy and invoke through the CLI, see the call in the tail, open it, invoke from the
form (a good call and a failing one), then remove a function through its confirmation.
Every wait is a bounded loop on what the screen shows, never a timing assertion.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from faasctl.config import Settings
from faasctl.dashboard.app import DashboardApp
from faasctl.dashboard.call_detail import CallDetail
from faasctl.dashboard.confirm import Confirm
from faasctl.dashboard.invoke_form import InvokeForm
from faasctl.dashboard.sources import LocalSource
from tests.support.platform import Platform

from .conftest import loaded, until

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

# A cold start builds nothing here (the runtime is registered), but a loaded CI machine
# can be slow: waits on a call allow a minute, in 0.1 s steps.
CALL_STEPS = 600


def highlight(app: DashboardApp, table_id: str, key: str) -> None:
    table = app.query_one(table_id, DataTable)
    table.move_cursor(row=table.get_row_index(key), animate=False)


def keys(app: DashboardApp, table_id: str) -> list[str]:
    return [str(k.value) for k in app.query_one(table_id, DataTable).rows]


async def test_tail_detail_invoke_and_remove(platform: Platform, tmp_path: Path) -> None:
    platform.cli("fn", "deploy", "dash-dice", "examples/dice", "--runtime", "python")
    boom = tmp_path / "boom"
    boom.mkdir()
    (boom / "test.py").write_text("import sys\nprint('about to fail', file=sys.stderr)\nraise ValueError('boom')\n")
    platform.cli("fn", "deploy", "dash-boom", str(boom), "--runtime", "python")
    first = json.loads(platform.cli("invoke", "dash-dice", "-p", "roll=2d6", "--json").stdout)
    assert first["status"] == "DONE"

    app = DashboardApp(LocalSource(Settings(home=platform.home)))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert "local" in keys(app, "#nodes-table")

        # the CLI's call is in the tail; Enter opens it with its result and log
        await pilot.press("3")
        num = str(first["callNum"])
        await until(pilot, lambda: num in keys(app, "#calls-table"), "the CLI's call in the tail")
        highlight(app, "#calls-table", num)
        await pilot.press("enter")
        assert isinstance(app.screen, CallDetail)
        detail = app.screen.query_one("#detail", Static)
        await until(pilot, lambda: "[b]log" in str(detail.content), "the call's detail")
        shown = str(detail.content)
        assert "dash-dice" in shown and "DONE" in shown and first["result"] in shown
        await pilot.press("escape")

        # invoke from the form, on the function highlighted in the Functions view
        await pilot.press("2")
        await until(pilot, lambda: "dash-dice" in keys(app, "#functions-table"), "the function listed")
        highlight(app, "#functions-table", "dash-dice")
        await pilot.press("i")
        form = app.screen
        assert isinstance(form, InvokeForm)
        await pilot.press(*"roll=3d6", "enter")
        await until(pilot, lambda: form.record is not None, "the form's call", steps=CALL_STEPS, step=0.1)
        assert form.record is not None and form.record["status"] == "DONE", form.record
        assert len(json.loads(form.record["result"])) == 3
        done = str(form.record["callNum"])

        # a failing call: shown as ERROR in the form and in the tail
        form.query_one("#function").value = "dash-boom"
        form.record = None
        form.submit()
        await until(pilot, lambda: form.record is not None, "the failing call", steps=CALL_STEPS, step=0.1)
        assert form.record is not None and form.record["status"] == "ERROR", form.record
        failed = str(form.record["callNum"])
        await pilot.press("escape")
        await pilot.press("3")
        await until(pilot, lambda: {done, failed} <= set(keys(app, "#calls-table")), "the form's calls in the tail")
        row = app.query_one("#calls-table", DataTable).get_row(failed)
        assert str(row[2]) == "ERROR"
        highlight(app, "#calls-table", failed)
        await pilot.press("enter")
        assert isinstance(app.screen, CallDetail)
        detail = app.screen.query_one("#detail", Static)
        await until(pilot, lambda: "[b]log" in str(detail.content), "the failed call's detail")
        shown = str(detail.content)
        assert "ERROR" in shown and "boom" in shown and "about to fail" in shown, shown
        await pilot.press("escape")

        # remove a function: asks first, then it is gone from the view and the state
        await pilot.press("2")
        highlight(app, "#functions-table", "dash-boom")
        await pilot.press("x")
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await until(pilot, lambda: "dash-boom" not in keys(app, "#functions-table"), "the function gone",
                    steps=CALL_STEPS, step=0.1)
    listed = platform.cli("fn", "list").stdout
    assert "dash-boom" not in listed and "dash-dice" in listed
    platform.cli("fn", "rm", "dash-dice")
