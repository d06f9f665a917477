"""Build dist/faasctl: one executable file with faasctl, its dependencies and the nodes' wheelhouse.

Steps: the wheelhouse (scripts/wheelhouse.py) goes into the faasctl wheel as package
data; every dependency is downloaded per target (CPython 3.10-3.13 x Linux x86_64 and
aarch64) with pure wheels preferred where the compiled ones are only speed-ups; pex then
builds a multi-platform --venv zipapp from that folder alone (no index at pex time), and
the warm-start boot (scripts/dist_boot.py) replaces pex's __main__.py. A macOS arm64
resolution runs too, so a dependency that stops publishing those wheels is seen here.

    python scripts/dist.py [--out dist/faasctl] [--macos]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wheelhouse  # noqa: E402

ROOT = wheelhouse.ROOT
BUILD = ROOT / "build" / "dist"
PIP_VERSION = "26.2.1"  # pex resolves with this pip: the vendored one cannot handle markers per target
ABI3 = re.compile(r"^(?P<project>[^-]+)-(?P<version>[^-]+)-cp(?P<cp>\d+)-abi3-(?P<platform>.+)\.whl$")


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def run(*argv: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(f"dist: {' '.join(argv[:3])} ... failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")


def own_wheels() -> list[Path]:
    out = BUILD / "own"
    shutil.rmtree(out, ignore_errors=True)
    for project in (ROOT / "agent", ROOT):  # copies: setuptools writes build/ into the tree it builds
        src = BUILD / "src" / project.name
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(project, src, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "tests", "bench", ".mypy_cache",
            ".ruff_cache", "agent" if project == ROOT else "-"))
        run(sys.executable, "-m", "pip", "-q", "wheel", "--no-deps", str(src), "-w", str(out))
    return sorted(out.glob("*.whl"))


def resolve(requirements: list[Path], platform_files: list[Path], out: Path) -> list[str]:
    """pex's resolution from the index, per complete platform (markers evaluated per target)."""
    pex(requirements, platform_files, out, ["--pip-version", PIP_VERSION])
    with zipfile.ZipFile(out) as z:
        info = json.loads(z.read("PEX-INFO"))
    return sorted(info["distributions"])


def repository(resolved: Path, names: list[str]) -> Path:
    """The wheels pex picked, pure ones swapped in where they exist, duplicate abi3 builds pruned."""
    repo = BUILD / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    with zipfile.ZipFile(resolved) as z:
        for name in names:
            (repo / name).write_bytes(z.read(f".deps/{name}"))
    for wheel in sorted(repo.glob("*.whl")):
        project, version, *_, tag = wheel.name[:-4].split("-")
        if project.lower() in wheelhouse.PREFER_PURE and tag != "any":
            pure = BUILD / "pure"
            shutil.rmtree(pure, ignore_errors=True)
            proc = subprocess.run([sys.executable, "-m", "pip", "-q", "download", "--no-deps", "--only-binary=:all:",
                                   "--platform", "any", "-d", str(pure), f"{project}=={version}"],
                                  capture_output=True, stdin=subprocess.DEVNULL)
            found = list(pure.glob("*.whl")) if proc.returncode == 0 else []
            if found:
                shutil.copyfile(found[0], repo / found[0].name)
                wheel.unlink()
    # An abi3 wheel built for cp39 loads on every later CPython: keep the oldest per platform.
    oldest: dict[tuple[str, str, str], tuple[int, Path]] = {}
    for wheel in sorted(repo.glob("*-abi3-*.whl")):
        m = ABI3.match(wheel.name)
        if not m:
            continue
        key, cp = (m["project"], m["version"], m["platform"]), int(m["cp"])
        if key in oldest and oldest[key][0] <= cp:
            wheel.unlink()
            continue
        if key in oldest:
            oldest[key][1].unlink()
        oldest[key] = (cp, wheel)
    return repo


def pex(requirements: list[Path], platform_files: list[Path], out: Path, source: list[str]) -> None:
    argv = [sys.executable, "-m", "pex", *map(str, requirements), *source,
            "--venv", "--no-pre-install-wheels", "--no-compile", "-c", "faasctl",
            "--python-shebang", "/usr/bin/env python3", "-o", str(out)]
    for path in platform_files:
        argv += ["--complete-platform", str(path)]
    run(*argv)


def install_boot(built: Path, out: Path) -> None:
    """Swap in the warm-start boot, keeping pex's own as __pex_main__.py."""
    from pex.pex_info import PexInfo

    info = PexInfo.from_pex(str(built))
    venv = info.raw_venv_dir(pex_file=str(built), interpreter=None)
    assert venv is not None, "the pex must be built with --venv"
    relpath = str(Path(venv.path).relative_to(info.raw_pex_root))
    boot = (ROOT / "scripts" / "dist_boot.py").read_text()
    boot = boot.replace("@VENV_RELPATH@", relpath).replace("@PEX_ROOT@", info.raw_pex_root)
    raw = built.read_bytes()
    shebang = raw[: raw.index(b"\n") + 1]
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(shebang)
        with zipfile.ZipFile(built) as src, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "__main__.py":
                    dst.writestr("__pex_main__.py", data)
                    dst.writestr("__main__.py", boot)
                else:
                    dst.writestr(item, data, compress_type=item.compress_type)
    tmp.chmod(0o755)
    tmp.rename(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "faasctl")
    parser.add_argument("--macos", action="store_true", help="also write dist/faasctl-macos-arm64 (not run here)")
    args = parser.parse_args()
    say("wheelhouse for nodes (CPython 3.9-3.13 x Linux x86_64/aarch64 x glibc/musl)")
    manifest = wheelhouse.build(ROOT / "faasctl" / "wheelhouse", ROOT / "agent")
    say("faasctl and faasctl-agent wheels")
    requirements = own_wheels()
    plat_dir = BUILD / "platforms"
    shutil.rmtree(plat_dir, ignore_errors=True)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "platforms.py"), str(plat_dir), "linux", "macos"],
                   check=True)
    linux = sorted(plat_dir.glob("linux-*.json"))
    say("dependencies for CPython 3.10-3.13 x Linux x86_64/aarch64")
    names = resolve(requirements, linux, BUILD / "resolved.pex")
    repo = repository(BUILD / "resolved.pex", names)
    say("pex (multi-platform --venv zipapp, from the wheels above only)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    built = BUILD / "faasctl.pex"
    pex(requirements, linux, built, ["--no-pypi", "-f", str(repo), "--pip-version", PIP_VERSION])
    install_boot(built, args.out)
    say("macOS arm64 resolution (CPython 3.10-3.13)")
    mac = resolve(requirements, sorted(plat_dir.glob("macos-*.json")), BUILD / "faasctl-macos.pex")
    if args.macos:
        install_boot(BUILD / "faasctl-macos.pex", args.out.with_name("faasctl-macos-arm64"))
    summary = {"file": str(args.out), "bytes": args.out.stat().st_size, "node_wheels": len(manifest["wheels"]),
               "operator_wheels": len(list(repo.glob("*.whl"))), "macos_arm64_wheels": len(set(mac))}
    (BUILD / "summary.json").write_text(json.dumps(summary, indent=1))
    say(f"{args.out}: {summary['bytes'] / 2**20:.1f} MiB ({summary['operator_wheels']} operator wheels, "
        f"{summary['node_wheels']} node wheels; macOS arm64 resolves to {summary['macos_arm64_wheels']} wheels)")


if __name__ == "__main__":
    main()
