"""The remote-only bootstrap steps: one probe and one install, as data.

Both are modules of the agent package (faasctl_agent.probe and .install: linted, typed
and unit-tested like the rest) whose source is sent to the node's bare python3, since
they run before the agent is installed there. The probe answers everything in one exec
(checks, the node's Python, the installed build, whether the agent is healthy and knows
our key); when all is in place the bootstrap ends there.
"""

from __future__ import annotations

import json
from typing import Any

from ..connectors.base import Connector, Step
from ..errors import NodeSetupFailed


def script(module: str) -> str:
    """The source of a bootstrap module of the agent package, to run as `python3 -c` on a
    node that has no agent yet (faasctl depends on faasctl-agent, so it is here)."""
    from importlib import resources

    return resources.files("faasctl_agent").joinpath(f"{module}.py").read_text(encoding="utf-8")


FAILS = {
    "python": ("python3 3.9 or newer is needed on the node", "install python3 on the node"),
    "docker": ("cannot reach the Docker engine on the node",
               "start dockerd and let this user use /var/run/docker.sock (docker group)"),
    "home": ("cannot create the agent's home on the node", "pick another --home or let the login user write there"),
    "disk": ("less than 1 GiB free on the node", "free disk space under the agent's home"),
    "venv": ("python3 on the node has no venv module", "install python3-venv on the node"),
}


def probe_step(home: str, client_public: str) -> Step:
    return Step("probe node", ("python3", "-c", script("probe"), home, client_public),
                "python3 did not run on the node", "install python3 on the node")


def probe(connector: Connector, home: str, client_public: str) -> dict[str, Any]:
    """Run the probe; raise the first failed check's message, else return its findings."""
    step = probe_step(home, client_public)
    result = connector.run(step.argv)
    try:
        found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        detail = " / ".join((result.stderr or result.stdout).strip().splitlines()[-2:])
        raise NodeSetupFailed(f"node {connector.name}: {step.fail} ({detail or f'exit {result.code}'})",
                              step.hint) from exc
    for fail in found["fail"]:
        message, hint = FAILS.get(fail, (f"check {fail} failed", ""))
        raise NodeSetupFailed(f"node {connector.name}: {message}", hint)
    return found


def install_plan(home: str, build: str) -> list[Step]:
    """Install (or upgrade in place) the agent from the wheels pushed to HOME/wheels/BUILD.

    A running agent of another build is stopped first, so the start step that follows
    brings up the new code; the build stamp makes a re-run with the same wheels a no-op.
    """
    return [Step("install agent", ("python3", "-c", script("install"), home, build),
                 "installing the agent from its wheels failed",
                 f"the wheels are in {home}/wheels on the node", capture="installed")]
