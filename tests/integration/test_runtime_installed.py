"""`pip install .` (not editable) into a fresh venv outside the checkout, then
`runtime add python` from there: the built-in comes from the installed package's data,
nothing is looked for beside the package or in the checkout."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.installed import install, run
from tests.support.platform import REPO

pytestmark = pytest.mark.integration


def test_installed_faasctl_adds_the_built_in_runtime(tmp_path: Path, docker: object) -> None:
    venv, purelib = install(tmp_path, wheelhouse=False)

    env = {**os.environ, "FAASCTL_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    probe = "import faasctl, faasctl_agent; print(faasctl.__file__, faasctl_agent.__file__)"
    where = run([str(venv / "bin" / "python"), "-c", probe], tmp_path, env).stdout
    assert all(p.startswith(purelib) for p in where.split()), where
    faasctl = [str(venv / "bin" / "faasctl")]
    available = json.loads(run([*faasctl, "runtime", "list", "--available", "--json"], tmp_path, env).stdout)
    assert [b["name"] for b in available] == ["node", "python"]  # both built-ins, from the package's data
    assert not any(b["added"] for b in available)
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
