"""The agent's own settings: one JSON file in its home, written by bootstrap.

Keeping every node-side path under one home folder is what lets `node rm` leave nothing
behind and lets several agents (tests, one host) live side by side.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "preload": "function",  # none | runtime | function
    "min_warm": 0,
    "max_concurrency": 8,
    "queue_limit": 64,
    "idle_timeout": 300.0,
    "timeout": 30.0,
    "memory_mb": 256,
    "cpus": 1.0,
    "pids": 128,
    "network": False,
    "stem_cells": 2,  # per runtime on this node, for functions with preload "runtime"
}


@dataclass
class AgentConfig:
    name: str
    home: Path
    # Unique per agent, made at init: scopes this agent's containers, volumes and labels
    # so that two agents sharing one Docker engine never touch each other's things.
    instance: str = ""
    zmq_endpoint: str = "tcp://127.0.0.1:7701"
    http_host: str = "127.0.0.1"
    http_port: int = 7702
    http_token: str = ""
    defaults: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))

    @property
    def scope(self) -> str:
        return self.instance or self.name

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def authorized_dir(self) -> Path:
        return self.home / "keys" / "authorized"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def journal_path(self) -> Path:
        return self.home / "journal.db"

    @property
    def pid_path(self) -> Path:
        return self.home / "agent.pid"

    @property
    def log_path(self) -> Path:
        return self.home / "agent.log"

    @classmethod
    def load(cls, home: Path) -> AgentConfig:
        raw = json.loads((home / "agent.json").read_text())
        raw["home"] = home
        merged = dict(DEFAULTS)
        merged.update(raw.get("defaults") or {})
        raw["defaults"] = merged
        return cls(**raw)

    def save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data.pop("home")
        tmp = self.home / "agent.json.tmp"
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, self.home / "agent.json")
