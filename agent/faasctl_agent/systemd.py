"""Running the agent as a systemd service on nodes that have systemd.

Where systemd is the init system and we are root, it is the better supervisor: it starts
the agent at boot, restarts it after a crash, and `systemctl status` shows it to the
node's admins. Elsewhere (containers, non-root users) daemon.py supervises it itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .config import AgentConfig

UNIT_DIR = Path("/etc/systemd/system")


def usable() -> bool:
    """systemd runs as init here and we may manage system units."""
    if os.environ.get("FAASCTL_AGENT_SUPERVISOR") == "process":
        return False
    return os.geteuid() == 0 and Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def unit_name(config: AgentConfig) -> str:
    return f"faasctl-agent-{config.scope}.service"


def unit_path(config: AgentConfig) -> Path:
    return UNIT_DIR / unit_name(config)


def unit_text(config: AgentConfig) -> str:
    return f"""[Unit]
Description=faasctl agent {config.name}
After=network-online.target docker.service
Wants=network-online.target

[Service]
ExecStart={sys.executable} -m faasctl_agent run --home {config.home}
Restart=on-failure
RestartSec=1
# SIGTERM lets the agent finish calls in containers and remove its containers.
KillSignal=SIGTERM
TimeoutStopSec=45
StandardOutput=append:{config.log_path}
StandardError=append:{config.log_path}

[Install]
WantedBy=multi-user.target
"""


def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=60)


def active(config: AgentConfig) -> bool:
    return _systemctl("is-active", "--quiet", unit_name(config)).returncode == 0


def start(config: AgentConfig, healthy: object, wait: float = 60.0) -> str:
    """Install (or refresh) the unit and start it; idempotent like the process path."""
    path = unit_path(config)
    text = unit_text(config)
    fresh = not path.exists() or path.read_text() != text
    if not fresh and active(config) and callable(healthy) and healthy(config):
        return "running"
    config.home.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    _systemctl("daemon-reload")
    result = _systemctl("enable", "--now", unit_name(config)) if not fresh else _systemctl("enable", unit_name(config))
    if fresh:
        result = _systemctl("restart", unit_name(config))
    if result.returncode != 0:
        raise RuntimeError(f"systemctl could not start {unit_name(config)}: {result.stderr.strip()}")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if callable(healthy) and healthy(config):
            return "started (systemd)"
        time.sleep(0.1)
    status = _systemctl("status", "--no-pager", "-n", "20", unit_name(config)).stdout
    raise RuntimeError(f"agent unit {unit_name(config)} did not become healthy:\n{status[-1500:]}")


def stop(config: AgentConfig) -> bool:
    """Stop and remove the unit; False when this agent never ran under systemd."""
    path = unit_path(config)
    if not path.exists():
        return False
    _systemctl("disable", "--now", unit_name(config))
    path.unlink(missing_ok=True)
    _systemctl("daemon-reload")
    return True
