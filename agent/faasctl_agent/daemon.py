"""Starting, supervising and stopping the agent process on a node, without systemd.

`start` is idempotent: a live agent is left alone. The supervisor restarts an agent that
crashed (with backoff, so a crash loop does not spin) and forwards a stop to it; the
agent then removes its containers before it exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from .config import AgentConfig, private_home

# The agent exits with this (sysexits' EX_CONFIG) when its configuration cannot work, a
# port in use say: restarting cannot help, so the supervisor gives up at once.
EXIT_CONFIG = 78


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(config: AgentConfig) -> int | None:
    try:
        pid = int(config.pid_path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def health(config: AgentConfig, timeout: float = 1.0) -> dict[str, object] | None:
    req = urllib.request.Request(f"http://{config.http_host}:{config.http_port}/healthz")
    if config.http_token:
        req.add_header("Authorization", f"Bearer {config.http_token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = json.loads(resp.read())
            return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def start(config: AgentConfig, wait: float = 60.0) -> str:
    """Start the agent unless it runs (under systemd where it is init, else our own
    supervisor in the background); wait for health."""
    from . import systemd

    if systemd.usable():
        config.fatal_path.unlink(missing_ok=True)
        return systemd.start(config, _healthy_or_fatal, wait)
    if read_pid(config) and health(config):
        return "running"
    private_home(config.home)
    config.fatal_path.unlink(missing_ok=True)
    log = open(config.log_path, "ab")  # noqa: SIM115 (handed to the child process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "faasctl_agent", "supervise", "--home", str(config.home)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
    )
    config.pid_path.write_text(str(proc.pid))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _healthy_or_fatal(config):
            return "started"
        if proc.poll() is not None:
            _raise_fatal(config)
            break
        time.sleep(0.1)
    tail = config.log_path.read_text(errors="replace")[-1500:] if config.log_path.exists() else ""
    raise RuntimeError(f"agent did not become healthy; log tail:\n{tail}")


def _raise_fatal(config: AgentConfig) -> None:
    try:
        reason = config.fatal_path.read_text().strip()
    except FileNotFoundError:
        return
    raise RuntimeError(reason)


def _healthy_or_fatal(config: AgentConfig) -> bool:
    """Healthy, or raise why the agent gave up (so a taken port is reported at once)."""
    if health(config):
        return True
    _raise_fatal(config)
    return False


def stop(config: AgentConfig, wait: float = 30.0) -> bool:
    from . import systemd

    if systemd.stop(config):
        return True
    pid = read_pid(config)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    config.pid_path.unlink(missing_ok=True)
    return True


def supervise(config: AgentConfig) -> int:
    """Run the agent as a child; restart it when it dies unasked, up to 5 times a minute."""
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    restarts: list[float] = []
    while True:
        child = subprocess.Popen([sys.executable, "-m", "faasctl_agent", "run", "--home", str(config.home)])
        (config.home / "agent.child.pid").write_text(str(child.pid))
        code = child.wait()
        if stopping or code == 0:
            return 0
        if code == EXIT_CONFIG:
            print("agent configuration cannot work; not restarting", file=sys.stderr, flush=True)
            return code
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60] + [now]
        if len(restarts) > 5:
            print(f"agent crashed {len(restarts)} times within a minute; giving up", file=sys.stderr, flush=True)
            return 1
        print(f"agent exited with {code}; restarting", file=sys.stderr, flush=True)
        time.sleep(min(0.2 * len(restarts), 2.0))


def purge(config: AgentConfig) -> None:
    """Remove everything this node's agent made: containers, volumes, its home."""
    import shutil

    from .executor import Executor

    executor = Executor(config.scope)
    executor.remove_all()
    executor.remove_volumes()
    shutil.rmtree(config.home, ignore_errors=True)


def unconfigure(config: AgentConfig) -> None:
    """Undo a failed first bootstrap: containers, volumes and agent.json go, while the
    venv, wheels and keys stay for the next try (nothing refers to them)."""
    from .executor import Executor

    for path in (config.home / "agent.json", config.fatal_path, config.pid_path, config.home / "agent.child.pid"):
        path.unlink(missing_ok=True)  # first: even if the engine fails below, the next try starts clean
    executor = Executor(config.scope)
    executor.remove_all()
    executor.remove_volumes()
