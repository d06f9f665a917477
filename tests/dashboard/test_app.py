"""The App's behaviour on the fake source: confirmations, forms, errors, refresh rules.

The fake only stands in for the data here; test_pilot.py drives the same screens
against a real local node.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.widgets import Input, Static, TabbedContent

from faasctl.dashboard.app import DashboardApp
from faasctl.dashboard.call_detail import CallDetail
from faasctl.dashboard.confirm import Confirm
from faasctl.dashboard.help import Help
from faasctl.dashboard.invoke_form import InvokeForm
from faasctl.dashboard.policy_form import PolicyForm

from .conftest import fake_app, loaded, until
from .fake import NOW, FakeSource

pytestmark = pytest.mark.anyio


def text(app: DashboardApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_remove_function_asks_first_and_no_refuses() -> None:
    app = fake_app()
    source = app.source
    assert isinstance(source, FakeSource)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "x")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert not isinstance(app.screen, Confirm) and source.actions == []
        await pilot.press("x", "y")
        await until(pilot, lambda: ("remove_function", "dice") in source.actions, "the removal")
        await until(pilot, lambda: "dice" not in app.functions, "a refresh without dice")


async def test_drain_then_undrain_a_node() -> None:
    app = fake_app()
    source = app.source
    assert isinstance(source, FakeSource)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("1", "d", "y")  # local: up, so d drains it
        await until(pilot, lambda: ("drain_node", "local", True) in source.actions, "the drain")
        await until(pilot, lambda: app.loads["slow"] >= 2, "a refresh after it")
        await pilot.press("down", "d", "y")  # n2: drained, so d undrains it
        await until(pilot, lambda: ("drain_node", "n2", False) in source.actions, "the undrain")
        await pilot.press("down", "x", "y")
        await until(pilot, lambda: ("remove_node", "n3") in source.actions, "the node removal")


async def test_policy_form_changes_only_what_was_edited() -> None:
    app = fake_app()
    source = app.source
    assert isinstance(source, FakeSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "p")
        form = app.screen
        assert isinstance(form, PolicyForm)
        form.query_one("#policy-min_warm", Input).value = "99"
        form.save()
        await pilot.pause()
        assert "outside" in str(form.query_one("#problem", Static).render())  # refused, form stays
        form.query_one("#policy-min_warm", Input).value = "3"
        form.save()
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: ("set_policy", "dice", {"min_warm": 3}) in source.actions, "the change")


async def test_invoke_form_shows_the_outcome() -> None:
    app = fake_app()
    source = app.source
    assert isinstance(source, FakeSource)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "down", "i")  # the highlighted function is preselected
        form = app.screen
        assert isinstance(form, InvokeForm)
        await pilot.press(*"bytes=12", "enter")
        await until(pilot, lambda: form.record is not None, "the call's record")
        assert source.actions[-1] == ("invoke", "sizes", {"bytes": "12"}, False)
        assert "DONE" in text(app, "#outcome") and "round trip" in text(app, "#outcome")
        form.query_one("#params", Input).value = "{broken"
        form.submit()
        await pilot.pause()
        assert "not valid JSON" in text(app, "#outcome")
        await pilot.press("escape")
        assert not isinstance(app.screen, InvokeForm)


async def test_enter_opens_the_call_with_its_log_and_help_lists_keys() -> None:
    app = fake_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("3", "enter")
        assert isinstance(app.screen, CallDetail)
        await until(pilot, lambda: "rolling for call 130" in text(app, "#detail"), "the log")
        detail = text(app, "#detail")
        assert "sizes" in detail and "cold" in detail and "[3, 5]" in detail
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, Help)
        await pilot.press("escape")
        assert app.query_one(TabbedContent).active == "calls"


async def test_filters_go_to_the_source() -> None:
    app = fake_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("3", "slash", *"sizes", "enter")
        await until(pilot, lambda: app.query_one("#calls-table").row_count == 10, "the filtered tail")
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"qi12")  # typed into the filter: no quit, no form, no tab
        assert app.query_one("#function-filter", Input).value == "qi12" and app.is_running
        assert app.query_one(TabbedContent).active == "calls" and len(app.screen_stack) == 1


async def test_keys_in_a_window_belong_to_it() -> None:
    app = fake_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "x")
        assert isinstance(app.screen, Confirm)
        await pilot.press("q", "i", "1")  # neither quits, nor opens a form, nor switches the tab below
        assert isinstance(app.screen, Confirm) and len(app.screen_stack) == 2 and app.is_running
        assert app.query_one(TabbedContent).active == "functions"
        await pilot.press("escape", "ctrl+c")  # Ctrl-C quits from anywhere
    assert app.return_code == 0


async def test_source_errors_show_and_the_app_goes_on() -> None:
    app = fake_app()
    source = app.source
    assert isinstance(source, FakeSource)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        source.fail = "the state file went away"
        app.action_refresh_now()
        await until(pilot, lambda: "went away" in text(app, "#status"), "the error on the status line")
        source.fail = ""
        app.action_refresh_now()
        await until(pilot, lambda: "3 nodes" in text(app, "#status"), "the status again")
        assert app.is_running


class SlowSource(FakeSource):
    """nodes() waits for the test's go-ahead and counts how many run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.running = self.most = self.started = 0

    async def nodes(self) -> list[dict[str, Any]]:
        self.running += 1
        self.started += 1
        self.most = max(self.most, self.running)
        try:
            await self.gate.wait()
            return await super().nodes()
        finally:
            self.running -= 1


async def test_a_slow_refresh_is_skipped_not_stacked() -> None:
    source = SlowSource()
    app = DashboardApp(source, clock=lambda: NOW, live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: source.started == 1, "the first refresh")
        for _ in range(5):
            app.refresh_slow()
            await pilot.pause()
        assert source.started == 1 and source.most == 1
        source.gate.set()
        await until(pilot, lambda: app.loads["slow"] == 1, "the first refresh's end")
        app.refresh_slow()
        await until(pilot, lambda: app.loads["slow"] == 2, "the next refresh")
        assert source.most == 1


async def test_q_quits_and_closes_the_source() -> None:
    app = fake_app(live=True)
    source = app.source
    assert isinstance(source, FakeSource)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("q")
    assert ("close",) in source.actions and app.return_code == 0


async def test_live_refresh_shows_a_node_going_down_and_a_failed_call() -> None:
    app = fake_app(live=True)  # the real timers: nodes every 2 s, calls every 1 s
    source = app.source
    assert isinstance(source, FakeSource)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        nodes = app.query_one("#nodes-table")
        assert str(nodes.get_row("local")[1]) == "up"
        source._nodes[0].update(up=False, suspect=False, last_error="agent did not answer")
        failed = {**source._calls[0], "callNum": 131, "status": "ERROR", "error": "boom"}
        source._calls.insert(0, failed)
        await until(pilot, lambda: str(nodes.get_row("local")[1]) == "down", "the node shown down")
        calls = app.query_one("#calls-table")
        await until(pilot, lambda: "131" in [str(k.value) for k in calls.rows], "the failed call in the tail")
        assert str(calls.get_row("131")[2]) == "ERROR"
