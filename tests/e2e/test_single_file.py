"""The single file, used as a person would on a bare machine (issue 8, "How it is tested").

Only dist/faasctl, an SSH key and a copy of examples/dice go into an operator container
that has python3 and nothing else: no pip, no ssh client, no rsync, no checkout, and a
docker network with no route out. From there the file bootstraps two node containers,
bookworm (Python 3.11) and bullseye (Python 3.9), with the agent wheels it carries, adds
the built-in python runtime from its package data, deploys dice and runs it on each node.

dist/faasctl is built by `bash scripts/dist.sh` (scripts/test.sh runs it before pytest);
this test fails, never skips, when the file is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.node_containers import IMAGE as BOOKWORM_NODE
from tests.support.node_containers import remove_leftovers
from tests.support.operator import node_name
from tests.support.operator_container import Site, single_file_site
from tests.support.platform import REPO
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e

DIST = REPO / "dist" / "faasctl"
BULLSEYE_NODE = "faasctl/node-bullseye:test"
NODE_PYTHONS = {BOOKWORM_NODE: "3.11", BULLSEYE_NODE: "3.9"}


def dist_file() -> Path:
    if not DIST.is_file():
        pytest.fail(f"{DIST} is missing: build it with `bash scripts/dist.sh` (scripts/test.sh does)")
    return DIST


def assert_bare(site: Site) -> None:
    """The operator could not have leaned on anything but the file."""
    # Docker drops whatever an internal network's containers send past its subnet (it still
    # installs a default route, so the route table proves nothing): check the wiring instead.
    assert site.network.attrs["Internal"] is True
    for c in (site.operator, *(n.container for n in site.nodes)):
        c.reload()
        assert list(c.attrs["NetworkSettings"]["Networks"]) == [site.network.name], c.name
        assert not c.attrs["HostConfig"]["PortBindings"], c.name
    pip = site.run("python3", "-m", "pip", "--version")
    assert pip.code != 0 and "No module named pip" in pip.stderr, pip
    for tool in ("ssh", "scp", "rsync", "pip", "pip3", "faasctl-agent"):
        assert site.run("sh", "-c", f"command -v {tool}").code != 0, f"{tool} is on the operator"
    assert sorted(site.run("ls", "-A", "/root", check=True).stdout.split()) == [".bashrc", ".profile",
                                                                                "dice", "faasctl", "key"]


def test_single_file_on_a_bare_operator_bootstraps_39_and_311_nodes(tmp_path: Path) -> None:
    dist = dist_file()
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e-single-file")
    images = [BOOKWORM_NODE, BULLSEYE_NODE]
    names = [node_name("n311"), node_name("n39")]
    with single_file_site(dist, key, public, images, REPO / "examples" / "dice") as site:
        try:
            assert_bare(site)
            for name, node in zip(names, site.nodes):
                added = site.faasctl("node", "add", name, "--host", f"root@{node.ip}", "--key", "/root/key",
                                     "--host-key-fingerprint", node.fingerprint(), "--json")
                assert json.loads(added.stdout)["name"] == name, added
                want = NODE_PYTHONS[node.image]
                python = node.container.exec_run(["python3", "-c", "import sys; print(*sys.version_info[:2], sep='.')"])
                assert python.output.decode().strip() == want
                assert "glibc" in added.stderr and f"CPython {want}" in added.stderr, added.stderr  # the probe
                venv = node.container.exec_run(["ls", f"/root/.faasctl-agent/{name}/venv/lib"]).output.decode()
                assert venv.split() == [f"python{want}"], venv  # the agent runs on the node's own Python

            site.faasctl("runtime", "add", "python")  # built-in: no --from, nothing beside the file
            site.faasctl("fn", "deploy", "dice", "/root/dice", "--runtime", "python")
            for name in names:
                call = json.loads(site.faasctl("invoke", "dice", "--node", name, "-p", "roll=2d6", "--json").stdout)
                assert call["status"] == "DONE" and call["node"] == name, call
                assert len(json.loads(call["result"])) == 2, call

            listed = {n["name"]: n["status"]["up"] for n in json.loads(site.faasctl("node", "list", "--json").stdout)}
            assert listed == {name: True for name in names}
        finally:
            for name in names:
                site.faasctl("node", "rm", name, check=False)
            remove_leftovers(names)
