"""Which agent wheels a node gets: (x86_64 | aarch64) x (glibc | musl) x CPython 3.9-3.13.

Checked twice: on a small manifest written here (the rules), and on the wheelhouse this
checkout packages (the data pip resolved), whose wheels must each load on the target.
"""

from __future__ import annotations

import re

import pytest

from faasctl.core import wheels
from faasctl.errors import InvalidInput

PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
ARCHES = ("x86_64", "aarch64")
LIBCS = {"glibc": "2.36", "musl": "1.2.4"}


def small_manifest() -> dict:
    targets = {}
    for py in PYTHONS:
        tag = f"cp{py.replace('.', '')}"
        for arch in ARCHES:
            targets[f"{py}-{arch}-glibc"] = {"libc": "2.26", "wheels": [
                "faasctl_agent-0.1.0-py3-none-any.whl", f"pyzmq-27.3.0-{tag}-{tag}-manylinux_2_28_{arch}.whl"]}
            targets[f"{py}-{arch}-musl"] = {"libc": "1.2", "wheels": [
                "faasctl_agent-0.1.0-py3-none-any.whl", f"pyzmq-27.3.0-{tag}-{tag}-musllinux_1_2_{arch}.whl"]}
    names = {w for t in targets.values() for w in t["wheels"]}
    return {"agent_wheel": "faasctl_agent-0.1.0-py3-none-any.whl", "archive": "wheels.tar.xz",
            "wheels": {n: f"sha-{n}" for n in names}, "targets": targets}


@pytest.mark.parametrize("py", PYTHONS)
@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("libc", sorted(LIBCS))
def test_each_covered_node_gets_its_own_pyzmq(py: str, arch: str, libc: str) -> None:
    node = wheels.NodePlatform(py, arch, libc, LIBCS[libc])
    chosen = wheels.select(small_manifest(), node)
    zmq = [w for w in chosen if w.startswith("pyzmq-")]
    assert len(zmq) == 1 and f"cp{py.replace('.', '')}" in zmq[0] and arch in zmq[0]
    assert ("musllinux" in zmq[0]) == (libc == "musl")


@pytest.mark.parametrize(("node", "why"), [
    (wheels.NodePlatform("3.8", "x86_64", "glibc", "2.36"), "CPython 3.8"),
    (wheels.NodePlatform("3.14", "aarch64", "glibc", "2.36"), "CPython 3.14"),
    (wheels.NodePlatform("3.11", "riscv64", "glibc", "2.36"), "riscv64"),
    (wheels.NodePlatform("3.11", "x86_64", "glibc", "2.17"), "need glibc >= 2.26"),
    (wheels.NodePlatform("3.11", "aarch64", "musl", "1.1.24"), "need musl >= 1.2"),
    (wheels.NodePlatform("3.11", "x86_64", "", ""), "unknown libc"),
])
def test_a_node_outside_the_set_gets_one_line_naming_the_set(node: wheels.NodePlatform, why: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        wheels.select(small_manifest(), node)
    assert why in caught.value.message and "\n" not in caught.value.message
    assert caught.value.hint == ("faasctl's wheelhouse covers CPython 3.9 to 3.13 on Linux aarch64 and x86_64 "
                                 "with glibc >= 2.26 or musl >= 1.2")


def test_probe_names_are_normalised() -> None:
    found = {"python": "3.11", "machine": "arm64", "libc": "glibc", "libc_version": "2.36"}
    assert wheels.NodePlatform.from_probe(found) == wheels.NodePlatform("3.11", "aarch64", "glibc", "2.36")


def test_build_id_follows_the_wheels_bytes() -> None:
    data = small_manifest()
    node = wheels.NodePlatform("3.11", "x86_64", "glibc", "2.36")
    chosen = wheels.select(data, node)
    before = wheels.build_id(data, chosen, node)
    data["wheels"][chosen[1]] = "another-hash"  # a rebuilt pyzmq with the same name
    assert wheels.build_id(data, chosen, node) != before
    assert before.startswith("0.1.0-") and before.endswith("-py3.11-x86_64-glibc")


WHEEL = re.compile(r"^(?P<name>[^-]+)-[^-]+-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def test_the_packaged_wheelhouse_loads_on_every_target() -> None:
    """The real manifest (scripts/setup.sh builds it): every wheel's tags fit its target."""
    data = wheels.manifest()
    assert len(data["targets"]) == len(PYTHONS) * len(ARCHES) * len(LIBCS)
    for py in PYTHONS:
        cp = int(py.replace(".", ""))
        for arch in ARCHES:
            for libc, version in LIBCS.items():
                chosen = wheels.select(data, wheels.NodePlatform(py, arch, libc, version))
                assert {WHEEL.match(w)["name"].lower() for w in chosen} >= {"faasctl_agent", "pyzmq", "docker"}
                for name in chosen:
                    m = WHEEL.match(name)
                    assert m is not None, name
                    if m["plat"] == "any":
                        continue
                    assert arch in m["plat"] and ("musllinux" in m["plat"]) == (libc == "musl"), name
                    wheel_cp = int(m["py"].removeprefix("cp"))
                    assert wheel_cp == cp or (m["abi"] == "abi3" and wheel_cp <= cp), name
