"""The same screens over a real `faasctl serve` (RemoteSource, `faasctl dashboard --url`).

A serve started with a token: the dashboard with the token sees the local node, invokes
and sees the call in the tail; with a wrong token it shows the refusal on its status line
and keeps running.
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import DataTable, Static

from faasctl.dashboard.app import DashboardApp
from faasctl.dashboard.invoke_form import InvokeForm
from faasctl.dashboard.remote import RemoteSource
from tests.support.apiserver import serve
from tests.support.platform import Platform

from .conftest import loaded, until

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TOKEN = "dash-s3cret"


def keys(app: DashboardApp, table_id: str) -> list[str]:
    return [str(k.value) for k in app.query_one(table_id, DataTable).rows]


async def test_remote_serve_with_and_without_the_token(platform: Platform) -> None:
    platform.cli("fn", "deploy", "dash-remote", "examples/dice", "--runtime", "python")
    with serve(platform, env={**platform.env, "FAASCTL_TOKEN": TOKEN}, token=TOKEN) as api:
        app = DashboardApp(RemoteSource(api.url, TOKEN))
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            assert app.sub_title == api.url
            assert "local" in keys(app, "#nodes-table")
            await until(pilot, lambda: "dash-remote" in app.functions, "the function over /v1")
            await pilot.press("i")
            form = app.screen
            assert isinstance(form, InvokeForm)
            form.query_one("#function").value = "dash-remote"
            await pilot.press(*'{"roll": "2d4"}', "enter")
            await until(pilot, lambda: form.record is not None, "the call over /v1", steps=600, step=0.1)
            assert form.record is not None and form.record["status"] == "DONE", form.record
            assert len(json.loads(form.record["result"])) == 2
            await pilot.press("escape", "3")
            num = str(form.record["callNum"])
            await until(pilot, lambda: num in keys(app, "#calls-table"), "the call in the tail")

        wrong = DashboardApp(RemoteSource(api.url, "not-the-token"))
        async with wrong.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            status = str(wrong.query_one("#status", Static).render())
            assert status.startswith("error:"), status
            assert wrong.is_running
    platform.cli("fn", "rm", "dash-remote")
