"""`pip install .` (not editable) outside the checkout sets up an SSH node from the wheelhouse it
ships: no FAASCTL_AGENT_SOURCE, no agent/ folder, no index at bootstrap time. Real sshd
on loopback, real rsync, real Docker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.operator import add_args, node_name
from tests.support.platform import REPO
from tests.support.sshd import SshServer

pytestmark = pytest.mark.integration


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=600)
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_installed_faasctl_bootstraps_a_node_from_its_own_wheelhouse(sshd: SshServer, tmp_path: Path,
                                                                     docker: object) -> None:
    if not (REPO / "faasctl" / "wheelhouse" / "manifest.json").is_file():
        pytest.fail("faasctl/wheelhouse is missing: scripts/setup.sh builds it (python scripts/wheelhouse.py)")
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(REPO / "faasctl", src / "faasctl", ignore=skip)
    shutil.copytree(REPO / "agent", src / "agent", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "--no-deps", str(src / "agent"), str(src)], tmp_path)
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip()
    Path(purelib, "outer-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # third-party libraries
    shutil.rmtree(src)

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
