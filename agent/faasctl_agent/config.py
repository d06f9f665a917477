"""The agent's own settings: one JSON file in its home, written by bootstrap.

Keeping every node-side path under one home folder is what lets `node rm` leave nothing
behind and lets several agents (tests, one host) live side by side. The home is private
(0700, files 0600): it holds the server's secret key, the HTTP token and the journal.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import policy
from .protocol import E_BAD_REQUEST, AgentFailure

DEFAULTS = policy.NODE_DEFAULTS  # a node's policy defaults; bootstrap may override some


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
    def secrets_dir(self) -> Path:
        """Secret values, one 0600 file per name (secretstore.py); never in the journal."""
        return self.home / "secrets"

    @property
    def journal_path(self) -> Path:
        return self.home / "journal.db"

    @property
    def sockets_dir(self) -> Path:
        """Runner sockets, a folder per container (sockdirs.py)."""
        return self.home / "run"

    @property
    def pid_path(self) -> Path:
        return self.home / "agent.pid"

    @property
    def log_path(self) -> Path:
        return self.home / "agent.log"

    @property
    def fatal_path(self) -> Path:
        """Why the agent last refused to start (a port in use...), for `start` to report."""
        return self.home / "agent.fatal"

    @classmethod
    def load(cls, home: Path) -> AgentConfig:
        raw = json.loads((home / "agent.json").read_text())
        raw["home"] = home
        raw["defaults"] = {**DEFAULTS, **checked_defaults(raw.get("defaults") or {})}
        return cls(**raw)

    def save(self) -> None:
        private_home(self.home)
        data = asdict(self)
        data.pop("home")
        tmp = self.home / "agent.json.tmp"
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, self.home / "agent.json")


def checked_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    """A node's defaults go through the one policy model: a bad agent.json is named, not guessed at."""
    try:
        return policy.parse({k: v for k, v in raw.items() if k in policy.AGENT_KEYS})
    except policy.PolicyError as exc:
        raise AgentFailure(E_BAD_REQUEST, f"agent.json defaults: {exc.message}",
                           "fix the file, or run `faasctl node add` again") from exc


PRIVATE_FILES = ("agent.json", "agent.log", "agent.pid", "agent.child.pid", "agent.fatal", "journal.db",
                 "journal.db-wal", "journal.db-shm")


def private_home(home: Path) -> None:
    """Make the home 0700 and its known files 0600, also a home an older agent made 0755."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path, mode in [(home, 0o700)] + [(home / name, 0o600) for name in PRIVATE_FILES]:
        try:
            if path.stat().st_mode & 0o077:
                os.chmod(path, mode)
        except FileNotFoundError:
            pass
        except PermissionError:  # not ours (a shared folder given as --home): leave it
            pass
