"""Bootstrap plans: the steps that turn a machine into a node, as data.

The same plan runs through any connector. Every step is idempotent, so running a plan
again is how a node is repaired or confirmed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from ..connectors.base import Connector, Step, venv_python
from ..errors import NodeSetupFailed, NodeUnreachable

__all__ = ["agent_plan", "check_plan", "configure_plan", "run_plan", "stop_plan", "undo_configure", "venv_python"]

PY_CHECK = "import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)"
DOCKER_CHECK = ("import socket,sys; s=socket.socket(socket.AF_UNIX); "
                "s.settimeout(5); s.connect('/var/run/docker.sock')")
DISK_CHECK = "import shutil,sys; sys.exit(0 if shutil.disk_usage(sys.argv[1]).free > 2**30 else 1)"


def check_plan(python: str, home: str) -> list[Step]:
    """What a node must offer before anything is installed: python, Docker, disk."""
    return [
        Step("check python", (python, "-c", PY_CHECK), "python3 3.9 or newer is needed on the node",
             "install python3 on the node"),
        Step("check docker", (python, "-c", DOCKER_CHECK), "cannot reach the Docker engine on the node",
             "start dockerd and let this user use /var/run/docker.sock (docker group)"),
        Step("create home", ("mkdir", "-p", "-m", "700", home), f"cannot create {home} on the node",
             "pick another --home or let the login user write there"),
        Step("check disk", (python, "-c", DISK_CHECK, home), "less than 1 GiB free on the node",
             "free disk space under the agent's home"),
    ]


def configure_plan(python: str, home: str, name: str, zmq_endpoint: str, http_port: int,
                   client_public: str, defaults: dict[str, Any], force: bool = False) -> list[Step]:
    """Configure and key the agent, authorise us, start it (waits for its health check).

    `force` rewrites an agent.json no node record refers to (a failed earlier try's).
    """
    agent = (python, "-m", "faasctl_agent")
    return [
        Step("configure agent", (*agent, "init", "--home", home, "--name", name, "--zmq", zmq_endpoint,
                                 "--http-port", str(http_port), "--defaults", json.dumps(defaults))
             + (("--force",) if force else ())),
        Step("make agent keys", (*agent, "pubkey", "--home", home), capture="server_key"),
        # --key=VALUE: a Z85 key may begin with "-", which argparse would take for an option
        Step("authorise operator", (*agent, "authorize", "--home", home, "--client", "operator",
                                    f"--key={client_public}")),
        Step("start agent", (*agent, "start", "--home", home), "the agent did not start",
             f"a port in use: add the node again with another --agent-port or --http-port; "
             f"else see {home}/agent.log on the node"),
    ]


def agent_plan(python: str, home: str, name: str, zmq_endpoint: str, http_port: int,
               client_public: str, defaults: dict[str, Any], force: bool = False) -> list[Step]:
    """Check the node, configure and key the agent, authorise us, start it."""
    return check_plan(python, home) + configure_plan(python, home, name, zmq_endpoint, http_port,
                                                     client_public, defaults, force)


def undo_configure(connector: Connector, python: str, home: str) -> None:
    """After a failed first add: stop the agent, drop its containers, volumes and agent.json,
    so nothing on the node outlives the failure but the installed venv. Best effort: the
    failure being reported matters more than one from this clean-up."""
    with contextlib.suppress(NodeUnreachable):
        connector.run((python, "-m", "faasctl_agent", "stop", "--home", home, "--unconfigure"))


def stop_plan(python: str, home: str, purge: bool) -> list[Step]:
    argv: tuple[str, ...] = (python, "-m", "faasctl_agent", "stop", "--home", home)
    return [Step("stop agent", argv + (("--purge",) if purge else ()), "the agent did not stop")]


def run_plan(connector: Connector, steps: list[Step],
             progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """Run steps in order; stop at the first failure with its message and output."""
    captured: dict[str, str] = {}
    for step in steps:
        if progress:
            progress(step.title)
        result = connector.run(step.argv)
        if result.code != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise NodeSetupFailed(f"node {connector.name}: {step.fail or step.title + ' failed'}"
                                  + (f" ({' / '.join(detail)})" if detail else ""), step.hint)
        if step.capture:
            captured[step.capture] = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return captured
