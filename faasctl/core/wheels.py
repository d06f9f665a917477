"""The agent's wheels for a node: chosen from the wheelhouse that ships inside faasctl.

Nodes need no package index and the operator needs none either: scripts/wheelhouse.py
resolved faasctl-agent and its dependencies at build time for every covered node
(CPython 3.9-3.13 x Linux x86_64/aarch64 x glibc/musl) and the package carries them as
one xz archive plus a manifest of what pip picked per target. Bootstrap probes the node
and sends only that target's wheels. The build id hashes those wheels, so any change in
them (a new agent, a new pyzmq) is a new build that `node upgrade` installs.

FAASCTL_AGENT_SOURCE (a developer override) swaps in a wheel built from an agent source
folder, so an edited agent reaches nodes without rebuilding the wheelhouse.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NodeSetupFailed
from . import agentsource

_lock = threading.Lock()  # fan-out asks for the same wheels from many threads
ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8": "aarch64", "armv8l": "aarch64"}


@dataclass(frozen=True)
class NodePlatform:
    """What the probe found: the facts that decide which wheels a node can load."""

    python: str  # "3.11"
    machine: str  # uname -m
    libc: str  # "glibc", "musl" or "" (unknown)
    libc_version: str = ""  # "2.36", "1.2.4"

    @classmethod
    def from_probe(cls, found: dict[str, Any]) -> NodePlatform:
        machine = str(found.get("machine", "")).lower()
        return cls(python=str(found["python"]), machine=ARCH_ALIASES.get(machine, machine),
                   libc=str(found.get("libc", "")), libc_version=str(found.get("libc_version", "")))

    def __str__(self) -> str:
        libc = f"{self.libc} {self.libc_version}".strip() or "unknown libc"
        return f"Linux {self.machine or 'unknown arch'}, {libc}, CPython {self.python}"


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(".")[:2])
    except ValueError:
        return ()


@cache
def manifest() -> dict[str, Any]:
    """The packaged manifest (importlib.resources: the same inside the single file)."""
    from importlib import resources

    try:
        text = (resources.files("faasctl") / "wheelhouse" / "manifest.json").read_text()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise NodeSetupFailed("this faasctl carries no agent wheelhouse, so it cannot set up SSH nodes",
                           "use the single file (bash scripts/dist.sh) or, in a checkout, "
                           "run python scripts/wheelhouse.py once") from exc
    data: dict[str, Any] = json.loads(text)
    return data


def covered(data: dict[str, Any]) -> str:
    """The covered node platforms, in words, for errors and docs."""
    pythons = sorted({t.split("-")[0] for t in data["targets"]}, key=_version)
    arches = sorted({t.split("-")[1] for t in data["targets"]})
    floors: dict[str, str] = {}
    for key, target in data["targets"].items():
        libc = key.split("-")[2]
        floors[libc] = max(floors.get(libc, "0"), target["libc"], key=_version)
    libcs = " or ".join(f"{libc} >= {floor}" for libc, floor in sorted(floors.items()))
    return f"CPython {pythons[0]} to {pythons[-1]} on Linux {' and '.join(arches)} with {libcs}"


def select(data: dict[str, Any], node: NodePlatform) -> list[str]:
    """The wheels this node can load, or a one-line refusal that names the covered set."""
    target = data["targets"].get(f"{node.python}-{node.machine}-{node.libc}")
    fits = target is not None and _version(node.libc_version) >= _version(target["libc"])
    if not fits:
        need = f" (these wheels need {node.libc} >= {target['libc']})" if target else ""
        raise InvalidInput(f"no agent wheels for this node: {node}{need}",
                           f"faasctl's wheelhouse covers {covered(data)}")
    return list(target["wheels"])


def build_id(data: dict[str, Any], wheels: list[str], node: NodePlatform, agent_override: str = "") -> str:
    """Agent version + a hash of the exact wheels + the target: names one installation."""
    digest = hashlib.sha256()
    for name in sorted(wheels):
        digest.update(f"{name}={data['wheels'].get(name, agent_override)}\n".encode())
    version = data["agent_wheel"].split("-")[1]
    return f"{version}-{digest.hexdigest()[:12]}-py{node.python}-{node.machine}-{node.libc}"


def plan(node: NodePlatform) -> tuple[str, list[str], Path | None]:
    """(build id, wheel names, agent wheel built from source or None) for this node."""
    data = manifest()
    wheels = select(data, node)
    source = os.environ.get("FAASCTL_AGENT_SOURCE")
    if not source:
        return build_id(data, wheels, node), wheels, None
    own = agentsource.wheel(Path(source))
    wheels = [own.name if w == data["agent_wheel"] else w for w in wheels]
    return build_id(data, wheels, node, agentsource.digest(own)), wheels, own


def ensure(home: Path, node: NodePlatform) -> tuple[str, Path]:
    """Return (build id, folder holding exactly this node's wheels), unpacking once per build."""
    build, wheels, own = plan(node)
    folder = home / "wheels" / build
    with _lock:
        if (folder / ".complete").exists():
            return build, folder
        tmp = folder.with_name(f".{build}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _unpack(manifest(), [w for w in wheels if own is None or w != own.name], tmp)
            if own is not None:
                shutil.copyfile(own, tmp / own.name)
            (tmp / ".complete").write_text(build)
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return build, folder


def _unpack(data: dict[str, Any], names: list[str], dest: Path) -> None:
    """Stream the packaged archive once, keeping only `names`, each checked by SHA-256."""
    import tarfile
    from importlib import resources

    wanted = set(names)
    with resources.as_file(resources.files("faasctl") / "wheelhouse" / data["archive"]) as path, \
            tarfile.open(path, "r:xz") as tar:
        for member in tar:
            if member.name not in wanted or not member.isfile():
                continue
            source = tar.extractfile(member)
            assert source is not None
            blob = source.read()
            if hashlib.sha256(blob).hexdigest() != data["wheels"][member.name]:
                raise NodeSetupFailed(f"the wheelhouse's copy of {member.name} is damaged",
                                     "rebuild or re-download faasctl")
            (dest / member.name).write_bytes(blob)
            wanted.discard(member.name)
    if wanted:
        raise NodeSetupFailed(f"the wheelhouse lacks {', '.join(sorted(wanted))}", "rebuild or re-download faasctl")
