"""The state suite on both back ends: the `backend` fixture runs a test once on a state
file (SQLite) and once on a fresh PostgreSQL database (tests/support/pgserver.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Backend:
    name: str  # "sqlite" or "postgres"
    home: Path  # FAASCTL_HOME: keys and secrets live here on both
    url: str  # "" for the state file

    @property
    def path(self) -> Path:
        return self.home / "state.db"

    @property
    def pg(self) -> bool:
        return bool(self.url)

    def engine(self) -> Any:
        from faasctl.state.db import open_engine

        return open_engine(self.path, self.url)

    def connect(self, shared: bool = False) -> Any:
        """A raw connection (sqlite3's, or state/pg.py's with the same interface)."""
        from faasctl.state import fastpath

        return fastpath.connect(self.path, shared, url=self.url)

    def settings(self) -> Any:
        from faasctl.config import Settings

        return Settings(home=self.home, state_url=self.url)

    def context(self) -> Any:
        from faasctl.core.context import Context

        return Context(self.settings())

    def env(self) -> dict[str, str]:
        """The environment a faasctl process on this state runs with."""
        env = {**os.environ, "FAASCTL_HOME": str(self.home)}
        env.pop("FAASCTL_STATE_URL", None)
        if self.url:
            env["FAASCTL_STATE_URL"] = self.url
        return env


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url = str(request.getfixturevalue("pg_url")) if request.param == "postgres" else ""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return Backend(str(request.param), home, url)
