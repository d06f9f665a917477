"""`pip install .` (not editable) outside the checkout sets up an SSH node from the wheelhouse it
ships: no FAASCTL_AGENT_SOURCE, no agent/ folder, no index at bootstrap time. Real sshd
on loopback, real rsync, real Docker."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.installed import install, run
from tests.support.operator import add_args, node_name
from tests.support.platform import REPO
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration


def test_installed_faasctl_bootstraps_a_node_from_its_own_wheelhouse(sshd: SshServer, tmp_path: Path,
                                                                     docker: object) -> None:
    if not (REPO / "faasctl" / "wheelhouse" / "manifest.json").is_file():
        pytest.fail("faasctl/wheelhouse is missing: scripts/setup.sh builds it (python scripts/wheelhouse.py)")
    venv, _ = install(tmp_path, wheelhouse=True)

    env = {k: v for k, v in os.environ.items() if k != "FAASCTL_AGENT_SOURCE"}
    env.update(FAASCTL_HOME=str(tmp_path / "home"), PYTHONPATH="")
    faasctl = [str(venv / "bin" / "faasctl")]
    name = node_name("inst")
    agent_home = tmp_path / "agent-home"
    try:
        added = run([*faasctl, *add_args(sshd, name, agent_home, "--accept-new-host-key")], tmp_path, env)
        assert "wheels for Linux" in added.stderr and "push wheels" in added.stderr, added.stderr
        pushed = sorted(p.name for p in (agent_home / "wheels").iterdir())
        assert len(pushed) == 1  # one build folder: this node's wheels only
        wheels = sorted(p.name for p in (agent_home / "wheels" / pushed[0]).glob("*.whl"))
        stamp = (agent_home / "venv" / ".faasctl-build").read_text().strip()
        assert stamp == pushed[0] and stamp.endswith(f"-{os.uname().machine}-glibc")
        py = "cp" + stamp.split("-py")[1].split("-")[0].replace(".", "")  # the node's python3, as probed
        zmq = [w for w in wheels if w.startswith("pyzmq-")]
        assert len(zmq) == 1 and os.uname().machine in zmq[0] and "musllinux" not in zmq[0], wheels
        assert f"-{py}-{py}-" in zmq[0] or "-abi3-" in zmq[0], zmq
        again = run([*faasctl, *add_args(sshd, name, agent_home)], tmp_path, env)
        assert "agent running this build" in again.stderr and "push wheels" not in again.stderr
        nodes = json.loads(run([*faasctl, "node", "list", "--json"], tmp_path, env).stdout)
        assert [(n["name"], n["status"]["up"]) for n in nodes] == [(name, True)]
    finally:
        subprocess.run([*faasctl, "node", "rm", name], cwd=tmp_path, env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
