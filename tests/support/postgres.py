"""Pytest fixtures for the state on PostgreSQL; the main conftest loads them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import pgserver


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """One real server per session; it fails (never skips) when PostgreSQL is missing."""
    try:
        server = pgserver.start()
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"cannot start a test PostgreSQL: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: pgserver.PgServer) -> str:
    """A fresh, empty database for this test, as a FAASCTL_STATE_URL."""
    return pg_server.database()
