"""Where faasctl keeps things, with one environment override (FAASCTL_HOME).

The home holds the operator's CURVE secret key (keys/), the state file and the local
agent's home, so it is private: 0700 folders, 0600 files, also when faasctl makes it
inside a world-readable folder or finds one an older faasctl made 0755.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
STATE_URL_ENV = "FAASCTL_STATE_URL"
# The global --state-url option (cli/main.py) for this command line; "" leaves the environment's.
state_url_option: ContextVar[str] = ContextVar("faasctl_state_url", default="")


def default_state_url() -> str:
    """Where the state lives: --state-url, else FAASCTL_STATE_URL; "" for the state file in the home."""
    return state_url_option.get() or os.environ.get(STATE_URL_ENV, "").strip()


def default_home() -> Path:
    if os.environ.get("FAASCTL_HOME"):
        return Path(os.environ["FAASCTL_HOME"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "faasctl"


def tighten(path: Path, mode: int) -> None:
    """Drop group and other bits of a path we own (one stat when it is private already)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_mode & 0o077 and st.st_uid == os.geteuid():
        os.chmod(path, mode)


def private_dir(path: Path) -> Path:
    """Create (or tighten) a folder to 0700; parents faasctl makes on the way are 0700 too."""
    if not path.is_dir():
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        for made in missing:  # mkdir's mode applies to the last folder only
            tighten(made, PRIVATE_DIR)
    tighten(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create an empty 0600 file unless it exists; tighten an existing one to 0600."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        tighten(path, PRIVATE_FILE)
    return path


def operator_name() -> str:
    """This operator's name in `faasctl operator list`: FAASCTL_OPERATOR, else the login name."""
    name = os.environ.get("FAASCTL_OPERATOR", "").strip()
    if name:
        return name
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "operator"


@dataclass(frozen=True)
class Settings:
    home: Path
    # A PostgreSQL URL puts the whole state in that database (state/pg.py); "": state.db in the home
    state_url: str = field(default_factory=default_state_url)

    @classmethod
    def load(cls) -> Settings:
        return cls(home=default_home())

    @property
    def state_path(self) -> Path:
        """The state file (SQLite); with a state URL, the keys and secrets still sit beside it."""
        return self.home / "state.db"

    @property
    def state_label(self) -> str:
        """Where the state is, for messages (a URL without its password)."""
        if not self.state_url:
            return str(self.state_path)
        import re

        return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", self.state_url)

    @property
    def keys_dir(self) -> Path:
        """The operator's CURVE key pair (operator.json, 0600): kept out of state.db."""
        return self.home / "keys"

    @property
    def secrets_dir(self) -> Path:
        """Secret values (one 0600 file per name, state/secretfiles.py): kept out of state.db."""
        return self.home / "secrets"

    @property
    def nodes_dir(self) -> Path:
        """Homes of agents that run on this machine (the `local` node)."""
        return self.home / "nodes"
