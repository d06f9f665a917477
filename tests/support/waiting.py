"""Polling for a state the platform reaches in the background (a refilled pool, a
removed container), bounded: tests assert on the outcome, never on how long it took."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(check: Callable[[], object], seconds: float = 20.0, interval: float = 0.1) -> bool:
    """True as soon as `check()` is truthy; after `seconds`, whatever one last check says."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())
