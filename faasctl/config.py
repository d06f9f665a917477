"""Where faasctl keeps things, with one environment override (FAASCTL_HOME)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_home() -> Path:
    if os.environ.get("FAASCTL_HOME"):
        return Path(os.environ["FAASCTL_HOME"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "faasctl"


@dataclass(frozen=True)
class Settings:
    home: Path

    @classmethod
    def load(cls) -> Settings:
        return cls(home=default_home())

    @property
    def state_path(self) -> Path:
        return self.home / "state.db"

    @property
    def nodes_dir(self) -> Path:
        """Homes of agents that run on this machine (the `local` node)."""
        return self.home / "nodes"
