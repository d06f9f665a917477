"""SVG snapshots of the main screens at 80x24 and 120x40, on the fake source's fixed rows.

Update after an intended change of look: `pytest tests/dashboard/test_snapshots.py
--snapshot-update`, then look at the SVGs in __snapshots__ before committing them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from faasctl.dashboard.call_detail import CallDetail

from .conftest import fake_app, loaded, until

SIZES = [(80, 24), (120, 40)]


def after(*keys: str) -> Callable[[Pilot[None]], object]:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press(*keys)
        if isinstance(pilot.app.screen, CallDetail):
            await until(pilot, lambda: "[b]log" in str(pilot.app.screen.query_one("#detail", Static).content),
                        "the call's log")
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("keys", [
    pytest.param(("1",), id="nodes"),
    pytest.param(("2",), id="functions"),
    pytest.param(("3",), id="calls"),
    pytest.param(("3", "down", "enter"), id="call_detail"),
    pytest.param(("question_mark",), id="help"),
    pytest.param(("2", "i"), id="invoke_form"),
    pytest.param(("2", "x"), id="confirm"),
    pytest.param(("2", "p"), id="policy_form"),
])
def test_screen(snap_compare: Callable[..., bool], keys: tuple[str, ...], size: tuple[int, int]) -> None:
    assert snap_compare(fake_app(), run_before=after(*keys), terminal_size=size)
