"""`pip install .` (not editable) into a fresh venv outside the checkout, then
`runtime add python` from there: the built-in comes from the installed package's data,
nothing is looked for beside the package or in the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.platform import REPO

pytestmark = pytest.mark.integration


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=600)
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_installed_faasctl_adds_the_built_in_runtime(tmp_path: Path, docker: object) -> None:
    # Sources copied away from the checkout, so neither the build nor the result can reach back into it.
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "wheelhouse")
    shutil.copytree(REPO / "faasctl", src / "faasctl", ignore=skip)
    shutil.copytree(REPO / "agent", src / "agent", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = str(venv / "bin" / "python")
    # faasctl and its agent built from the copies as wheels (setuptools from the index or pip's
    # cache, as the agent's wheels are for every SSH test); the third-party libraries are seen
    # from the test's own site-packages through a .pth line (a plain path: the .pth files
    # there, such as the editable checkout's, are not read).
    run([python, "-m", "pip", "install", "-q", "--no-deps", str(src / "agent"), str(src)], tmp_path)
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip()
    Path(purelib, "outer-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.rmtree(src)  # nothing may point back at the sources either

    env = {**os.environ, "FAASCTL_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    where = run([python, "-c", "import faasctl, faasctl_agent; print(faasctl.__file__, faasctl_agent.__file__)"],
                tmp_path, env).stdout
    assert all(p.startswith(purelib) for p in where.split()), where
    faasctl = [str(venv / "bin" / "faasctl")]
    available = json.loads(run([*faasctl, "runtime", "list", "--available", "--json"], tmp_path, env).stdout)
    assert [b["name"] for b in available] == ["python"] and available[0]["added"] is False
    try:
        run([*faasctl, "node", "add", "local"], tmp_path, env)
        added = json.loads(run([*faasctl, "runtime", "add", "python", "--json"], tmp_path, env).stdout)
        assert added["nodes"]["local"]["how"] in ("built", "present")
        assert added["image"].startswith("faasctl/rt-python:")
        run([*faasctl, "fn", "deploy", "dice", str(REPO / "examples" / "dice"), "--runtime", "python"], tmp_path, env)
        call = json.loads(run([*faasctl, "invoke", "dice", "-p", "roll=2d6", "--json"], tmp_path, env).stdout)
        assert call["status"] == "DONE" and len(json.loads(call["result"])) == 2
    finally:
        subprocess.run([*faasctl, "node", "rm", "local"], cwd=tmp_path, env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
