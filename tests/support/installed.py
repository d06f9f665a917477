"""faasctl installed as a user would (`pip install .`, not editable) into a fresh venv outside the checkout.

The sources are copied away and deleted after the install, so nothing can reach back
into the checkout. The third-party libraries come from the test's own site-packages
through a .pth line (a plain path: the .pth files there, such as the editable
checkout's, are not read), which keeps the install offline and quick.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.support.platform import REPO


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=600)
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def install(tmp_path: Path, wheelhouse: bool) -> tuple[Path, str]:
    """(the venv, its purelib); `wheelhouse` keeps the checkout's built wheelhouse in the copy."""
    src = tmp_path / "src"
    skip = ["__pycache__", "*.egg-info", "build"] + ([] if wheelhouse else ["wheelhouse"])
    shutil.copytree(REPO / "faasctl", src / "faasctl", ignore=shutil.ignore_patterns(*skip))
    shutil.copytree(REPO / "agent", src / "agent", ignore=shutil.ignore_patterns(*skip))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "--no-deps", str(src / "agent"), str(src)], tmp_path)
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip()
    Path(purelib, "outer-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.rmtree(src)
    return venv, purelib
