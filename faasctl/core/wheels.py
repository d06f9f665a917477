"""The agent's wheels (faasctl-agent and its dependencies), built here, carried to nodes.

Nodes need no package index: the operator builds the wheels once with its own pip and
bootstrap copies the folder over SSH. The cache (FAASCTL_HOME/wheels/<build>) is keyed
by the agent version, a hash of the agent's source and the node's Python (major.minor),
so an edited agent gets new wheels and the node sees a new build and upgrades in place.
When the node's Python differs from ours, dependencies are fetched as binary wheels for
that Python (`pip download --python-version`), which needs the index on the operator's
side only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import FaasctlError, NotFound

_lock = threading.Lock()  # fan-out asks for the same wheels from many threads


def agent_source() -> Path:
    """The agent's project folder (agent/ beside the faasctl package in a checkout)."""
    env = os.environ.get("FAASCTL_AGENT_SOURCE")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "agent"
    if not (folder / "pyproject.toml").is_file():
        raise NotFound(f"the agent's source is not at {folder}",
                       "set FAASCTL_AGENT_SOURCE to the faasctl checkout's agent/ folder")
    return folder


def build_id(python: str = "") -> str:
    """Agent version + source hash + target Python: names one set of wheels."""
    from faasctl_agent import __version__

    source = agent_source()
    digest = hashlib.sha256()
    # The package and its metadata only: building writes build/ and *.egg-info in place.
    files = [source / "pyproject.toml", *(source / "faasctl_agent").rglob("*")]
    for path in sorted(files):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    py = python or f"{sys.version_info[0]}.{sys.version_info[1]}"
    return f"{__version__}-{digest.hexdigest()[:10]}-py{py}"


def ensure(home: Path, python: str = "") -> tuple[str, Path]:
    """Return (build id, folder of wheels), building them on first need."""
    build = build_id(python)
    folder = home / "wheels" / build
    with _lock:
        if (folder / ".complete").exists():
            return build, folder
        tmp = folder.with_name(f".{build}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        # Build from a copy: setuptools writes build/ and *.egg-info into the tree it builds.
        src = tmp / "src"
        shutil.copytree(agent_source(), src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        here = f"{sys.version_info[0]}.{sys.version_info[1]}"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        if not python or python == here:
            _pip([*pip, "wheel", str(src), "-w", str(tmp)])
        else:
            _pip([*pip, "wheel", "--no-deps", str(src), "-w", str(tmp)])
            _pip([*pip, "download", "--only-binary=:all:", "--python-version", python,
                  "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
                  "-d", str(tmp), "pyzmq>=25", "docker>=7"])
        shutil.rmtree(src)
        (tmp / ".complete").write_text(build)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    return build, folder


def _pip(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = " / ".join(proc.stderr.strip().splitlines()[-3:])
        raise FaasctlError(f"could not build the agent's wheels: {tail}",
                           "this machine's pip needs the package index (or a pip cache) once")
