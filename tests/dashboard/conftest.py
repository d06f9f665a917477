"""Helpers of the dashboard tests: an App on the fake source, and a bounded wait on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from faasctl.dashboard.app import DashboardApp

from .fake import NOW, FakeSource


@pytest.fixture
def anyio_backend() -> str:
    """The async tests (marked anyio) run on asyncio, as textual does."""
    return "asyncio"


def fake_app(live: bool = False) -> DashboardApp:
    return DashboardApp(FakeSource(), clock=lambda: NOW, live=live)


async def until(pilot: Pilot[None], ready: Callable[[], bool], what: str, steps: int = 400,
                step: float = 0.05) -> None:
    """Let the app run until `ready()`; at most `steps` pauses of `step` seconds (a bound, not a timing check)."""
    for _ in range(steps):
        if ready():
            return
        await pilot.pause(step)
    raise AssertionError(f"the dashboard never got to: {what}")


async def loaded(pilot: Pilot[None], times: int = 1) -> None:
    app = pilot.app
    assert isinstance(app, DashboardApp)
    await until(pilot, lambda: app.loads["slow"] >= times and app.loads["calls"] >= times, "its first refresh")
    await pilot.pause()
