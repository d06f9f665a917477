"""What dist/faasctl carries, read from the file itself (no arm64 machine runs here).

scripts/test.sh builds the file before pytest; a missing file fails the test.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from faasctl.state import revision
from tests.support import first_release
from tests.support.platform import REPO

FILE = REPO / "dist" / "faasctl"
NODE_PYTHONS = ("39", "310", "311", "312", "313")
OPERATOR_PYTHONS = ("310", "311", "312", "313")


@pytest.fixture(scope="module")
def dist() -> zipfile.ZipFile:
    if not FILE.is_file():
        pytest.fail(f"{FILE} is missing: scripts/test.sh builds it with bash scripts/dist.sh")
    return zipfile.ZipFile(FILE)


def test_one_executable_file_started_by_env_python3(dist: zipfile.ZipFile) -> None:
    assert FILE.read_bytes()[:23] == b"#!/usr/bin/env python3\n" and FILE.stat().st_mode & 0o111
    names = set(dist.namelist())
    assert {"__main__.py", "__pex_main__.py", "PEX-INFO"} <= names
    assert b"VENV_RELPATH" in dist.read("__main__.py")  # the warm-start boot, placeholders filled
    assert b"@VENV_RELPATH@" not in dist.read("__main__.py")


def test_operator_dependencies_for_each_cpython_and_arch(dist: zipfile.ZipFile) -> None:
    wheels = json.loads(dist.read("PEX-INFO"))["distributions"]
    for arch in ("x86_64", "aarch64"):
        for cp in OPERATOR_PYTHONS:
            assert any(w.startswith("pydantic_core-") and f"-cp{cp}-" in w and arch in w for w in wheels), (cp, arch)
            assert any(w.startswith("pyzmq-") and arch in w and (f"-cp{cp}-cp{cp}-" in w or "-abi3-" in w)
                       for w in wheels), (cp, arch)
    assert any(w.startswith("tomli-") for w in wheels)  # CPython 3.10 has no tomllib
    assert any(w.startswith("alembic-") for w in wheels) and any(w.lower().startswith("mako-") for w in wheels)


def test_the_state_migrations_ship_in_the_file(dist: zipfile.ZipFile) -> None:
    own = next(n for n in dist.namelist() if n.startswith(".deps/faasctl-") and n.endswith(".whl"))
    with zipfile.ZipFile(io.BytesIO(dist.read(own))) as wheel:
        names = set(wheel.namelist())
    folder = "faasctl/state/migrations/"
    assert {folder + "env.py", folder + "script.py.mako", folder + "versions/0001_first_release.py"} <= names


def test_the_file_migrates_a_first_release_state(tmp_path: Path) -> None:
    """Alembic and the migrations work from the installed single file, not only a checkout."""
    home = tmp_path / "home"
    first_release.make(home / "state.db")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run([str(FILE), "fn", "list", "--json"], capture_output=True, text=True, timeout=300,
                         env={**env, "FAASCTL_HOME": str(home), "PEX_ROOT": str(tmp_path / "pex")})
    assert out.returncode == 0, out.stderr
    assert f"from revision 0001 to {revision.HEAD}" in out.stderr
    assert [f["name"] for f in json.loads(out.stdout)] == ["dice", "sizes"]


def test_the_node_wheelhouse_has_pyzmq_for_every_covered_target(dist: zipfile.ZipFile) -> None:
    own = next(n for n in dist.namelist() if n.startswith(".deps/faasctl-") and n.endswith(".whl"))
    with zipfile.ZipFile(io.BytesIO(dist.read(own))) as wheel:
        manifest = json.loads(wheel.read("faasctl/wheelhouse/manifest.json"))
        archive = wheel.read("faasctl/wheelhouse/wheels.tar.xz")
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:xz") as tar:
        members = set(tar.getnames())
    assert members == set(manifest["wheels"])
    for arch in ("x86_64", "aarch64"):
        for cp in NODE_PYTHONS:
            for libc in ("manylinux", "musllinux"):
                found = [m for m in members if m.startswith("pyzmq-") and f"{libc}_" in m and arch in m
                         and (f"-cp{cp}-cp{cp}-" in m or ("-abi3-" in m and int(m.split("-")[2][2:]) <= int(cp)))]
                assert found, (arch, cp, libc)
                target = manifest["targets"][f"{cp[0]}.{cp[1:]}-{arch}-{'glibc' if libc == 'manylinux' else 'musl'}"]
                assert set(found) & set(target["wheels"]), (arch, cp, libc)
