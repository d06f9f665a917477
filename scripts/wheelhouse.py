"""Build the nodes' wheelhouse: faasctl-agent and every dependency, for every covered node.

Run at build time (scripts/dist.sh, setup.py for `pip install .`, scripts/setup.sh for a
checkout), never at run time: a node then needs no package index and the operator needs
none either. pip resolves each target (CPython x Linux arch x libc) on its own, because
dependency versions differ by Python (requests drops 3.9 support, for one); the manifest
records that per-target list, so bootstrap picks exactly what pip picked here.

    python scripts/wheelhouse.py [--out faasctl/wheelhouse]

The wheels go into one solid xz archive beside the manifest: the pyzmq wheels for one
libc and architecture carry the same libzmq, byte for byte, so 27 MB of wheels pack
into about 11 MB, which keeps dist/faasctl under its size budget.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = "wheels.tar.xz"
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
ARCHES = ("x86_64", "aarch64")
# The oldest tags pip may take for each libc; it also takes newer ones up to the first listed.
PLATFORMS = {
    "glibc": ("manylinux_2_28_{arch}", "manylinux2014_{arch}"),
    "musl": ("musllinux_1_2_{arch}", "musllinux_1_1_{arch}"),
}
LIBC_TAG = re.compile(r"(manylinux|musllinux)_(\d+)_(\d+)_|manylinux(1|2010|2014)_")
LEGACY = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
# Projects whose compiled wheels are only speed-ups: the pure wheel serves every target once.
PREFER_PURE = {"charset_normalizer", "sqlalchemy", "wrapt", "pyyaml", "markupsafe", "msgpack"}


def needs_libc(wheel: str) -> tuple[int, int] | None:
    """The oldest libc a wheel's platform tags accept (None for pure wheels)."""
    platform = wheel[:-4].split("-")[-1]
    found = []
    for tag in platform.split("."):
        m = LIBC_TAG.match(tag)
        if m and m.group(4):
            found.append(LEGACY[m.group(4)])
        elif m:
            found.append((int(m.group(2)), int(m.group(3))))
    return min(found) if found else None


def pip(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(f"wheelhouse: pip {args[0]} failed:\n{proc.stderr.strip()}")


def download(dest: Path, py: str, platforms: list[str], *requirements: str) -> list[str]:
    """pip's own resolution for one target, then pure wheels swapped in where they exist."""
    plat = [a for p in platforms for a in ("--platform", p)]
    pip("download", "--only-binary=:all:", "--python-version", py, "--implementation", "cp",
        *plat, "-d", str(dest), *requirements)
    for wheel in sorted(dest.glob("*.whl")):
        project, version, *_, tag = wheel.name[:-4].split("-")
        if project.lower() in PREFER_PURE and tag != "any":
            pure = dest / "pure"
            pip("download", "--no-deps", "--only-binary=:all:", "--python-version", py, "--platform", "any",
                "-d", str(pure), f"{project}=={version}")
            for found in pure.glob("*.whl"):
                found.rename(dest / found.name)
                wheel.unlink()
            shutil.rmtree(pure)
    return sorted(p.name for p in dest.glob("*.whl"))


def recipe(agent_source: Path) -> str:
    """A hash of what decides the wheelhouse: the agent's source and this script."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted([agent_source / "pyproject.toml", *(agent_source / "faasctl_agent").rglob("*.py")]):
        digest.update(str(path.relative_to(agent_source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build(out: Path, agent_source: Path, force: bool = False) -> dict[str, object]:
    """Write OUT/manifest.json and OUT/wheels.tar.xz; reuse them while the recipe is unchanged.

    The index can move between two builds (a new pyzmq), so a rebuild is forced by
    --force (CI's dist build uses it); a checkout's set-up keeps what it has.
    """
    want = recipe(agent_source)
    try:
        current: dict[str, object] = json.loads((out / "manifest.json").read_text())
        if not force and current.get("recipe") == want and (out / ARCHIVE).is_file():
            return current
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryDirectory(prefix="faasctl-wheelhouse-") as tmp:
        stage = Path(tmp)
        src = stage / "src"  # setuptools writes build/ into the tree it builds
        shutil.copytree(agent_source, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        pip("wheel", "--no-deps", str(src), "-w", str(stage / "agent"))
        agent_wheel = next((stage / "agent").glob("faasctl_agent-*.whl"))
        files: dict[str, Path] = {agent_wheel.name: agent_wheel}
        targets: dict[str, dict[str, object]] = {}
        for py in PYTHONS:
            for arch in ARCHES:
                for libc, patterns in PLATFORMS.items():
                    dest = stage / f"{py}-{arch}-{libc}"
                    names = download(dest, py, [p.format(arch=arch) for p in patterns], str(agent_wheel))
                    for name in names:
                        files.setdefault(name, dest / name)
                    floors = [f for f in map(needs_libc, names) if f]
                    targets[f"{py}-{arch}-{libc}"] = {
                        "wheels": names, "libc": ".".join(map(str, max(floors))) if floors else ""}
        staged = stage / "out"  # swapped in whole, so a reader never sees half a wheelhouse
        staged.mkdir()
        digests = {}
        with lzma.open(staged / ARCHIVE, "wb", preset=9 | lzma.PRESET_EXTREME) as xz, \
                tarfile.open(fileobj=xz, mode="w") as tar:
            for name, path in sorted(files.items()):
                digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
                info = tar.gettarinfo(str(path), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                info.mode = 0o644
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
        manifest = {"format": 1, "recipe": want, "archive": ARCHIVE, "agent_wheel": agent_wheel.name,
                    "wheels": digests, "targets": targets}
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rename(old)
        shutil.move(str(staged), str(out))
        shutil.rmtree(old, ignore_errors=True)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "faasctl" / "wheelhouse")
    parser.add_argument("--agent", type=Path, default=ROOT / "agent", help="the agent's project folder")
    parser.add_argument("--force", action="store_true", help="rebuild even if the recipe is unchanged")
    args = parser.parse_args()
    manifest = build(args.out, args.agent, args.force)
    size = (args.out / ARCHIVE).stat().st_size
    print(f"wheelhouse: {len(manifest['wheels'])} wheels in {size / 2**20:.1f} MiB, "  # type: ignore[arg-type]
          f"{len(manifest['targets'])} targets in {args.out}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
