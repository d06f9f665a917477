"""Writes the README's screenshots (docs/dashboard*.svg) from the fake source's fixed rows.

    .venv/bin/python -m tests.dashboard.screenshot

The same sample data as the snapshot tests, so the pictures change only when the look does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from faasctl.dashboard.app import DashboardApp

from .fake import NOW, FakeSource

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOTS = {"dashboard.svg": ("2",), "dashboard-calls.svg": ("3",), "dashboard-nodes.svg": ("1",)}


async def main() -> None:
    for name, keys in SHOTS.items():
        source = FakeSource()
        source.label = "~/.local/share/faasctl/state.db"
        app = DashboardApp(source, clock=lambda: NOW, live=False)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(200):
                if app.loads["slow"] and app.loads["calls"]:
                    break
                await pilot.pause(0.05)
            await pilot.press(*keys)
            await pilot.pause()
            app.save_screenshot(name, path=str(DOCS))
            print(DOCS / name)


if __name__ == "__main__":
    asyncio.run(main())
