"""Shared fixtures. Integration tests use the real Docker engine, sshd, rsync and node
images that scripts/setup.sh provides; they fail, never skip, when one is missing, so a
broken CI machine cannot pass by running nothing. No test calls pytest.skip, and the
hook below turns any skip that creeps in into a failure. Deselecting (`-m`, or the paths
`scripts/test.sh --fast` picks) is how a lane leaves tests out."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

# testcontainers reads these once, at import: set them before anything imports it.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
os.environ.setdefault("TC_HOST", "127.0.0.1")

pytest_plugins = ["tests.support.fixtures", "tests.support.platform", "tests.support.postgres"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A skipped test reports as failed, with the skip's reason."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome, report.longrepr = "failed", f"tests never skip (tests/conftest.py): {reason}"
