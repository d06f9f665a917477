"""A faasctl-agent wheel built from a source folder: the FAASCTL_AGENT_SOURCE override.

For developers only: a user's faasctl sends the agent wheel its wheelhouse carries. Here
the wheel is built with this interpreter's pip (the agent is pure Python, so one wheel
serves every node) and cached under the source's hash, so an edited agent is a new
wheel, a new build id, and an in-place upgrade on the next `node add`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from ..config import Settings
from ..errors import NodeSetupFailed, NotFound

_lock = threading.Lock()


def source_hash(source: Path) -> str:
    if not (source / "pyproject.toml").is_file():
        raise NotFound(f"FAASCTL_AGENT_SOURCE={source} holds no agent project (no pyproject.toml)",
                       "point it at a faasctl checkout's agent/ folder, or unset it")
    digest = hashlib.sha256()
    files = [source / "pyproject.toml", *(source / "faasctl_agent").rglob("*")]
    for path in sorted(files):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def wheel(source: Path) -> Path:
    """The cached wheel for this source, built on first need."""
    folder = Settings.load().home / "wheels" / f"src-{source_hash(source)}"
    with _lock:
        found = sorted(folder.glob("faasctl_agent-*.whl"))
        if found:
            return found[0]
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            src = tmp / "src"  # setuptools writes build/ and *.egg-info into the tree it builds
            shutil.copytree(source, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
            # Without isolation when the build tools are here: no index needed, seconds faster.
            local = all(importlib.util.find_spec(m) for m in ("setuptools", "wheel"))
            isolation = ["--no-build-isolation"] if local else []
            proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "wheel",
                                   "--no-deps", *isolation, str(src), "-w", str(tmp)],
                                  capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                tail = " / ".join(proc.stderr.strip().splitlines()[-3:])
                raise NodeSetupFailed(f"could not build the agent's wheel from {source}: {tail}",
                                      "FAASCTL_AGENT_SOURCE is a developer override; unset it to use the shipped agent")
            shutil.rmtree(src)
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return sorted(folder.glob("faasctl_agent-*.whl"))[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
