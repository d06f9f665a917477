"""A node that can neither pull nor build the runtime image gets it carried over SSH.

The operator has a local node (the host's engine, which builds the image) and a node
with its own, empty Docker engine (tests/support/dind_node.py): no base image and no
registry. `runtime add python` builds on the local node and carries the image to the
other one (docker save streamed over the verified SSH session into docker load); the
function then deploys and runs there, inside the nested engine; adding the runtime
again finds it present everywhere and moves nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from tests.support.dind_node import dind_node, engine_has
from tests.support.node_containers import inventory_entry, remove_leftovers
from tests.support.operator import node_name, operator
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e


def test_runtime_image_carried_to_a_node_that_cannot_pull(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e-carry")
    op = operator(tmp_path)
    name = node_name("dind")
    with dind_node(public) as node:
        assert engine_has(node, "faasctl/base:bookworm") == ""  # nothing to build from
        inventory = tmp_path / "inventory.toml"
        inventory.write_text(f'[defaults]\nuser = "root"\nkey = "{key}"\nagent_port = 7701\n\n'
                             + inventory_entry(name, node))
        try:
            op.cli("node", "add", "local")
            op.cli("node", "import", str(inventory))

            first = op.cli("runtime", "add", "python", "--json")
            rt = json.loads(first.stdout)
            report = rt["nodes"]
            assert report["local"]["how"] in ("built", "present"), report  # the host engine may have it already
            assert report[name]["how"] == "carried" and report[name]["from"] == "local", report
            assert report[name]["bytes"] > 10 << 20, report  # a whole image went over, not a reference
            assert f"[{name}] carrying {rt['image']}" in first.stderr and "%" in first.stderr
            host_id = docker.from_env().images.get(rt["image"]).id
            assert engine_has(node, rt["image"]) == host_id  # same content, same ID

            op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
            call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=3d6", "--json").stdout)
            assert call["status"] == "DONE" and call["node"] == name and len(json.loads(call["result"])) == 3
            ran = node.exec(["docker", "ps", "-a", "--filter", "label=faasctl.function=dice",
                             "--format", "{{.Image}}"]).output.decode().split()
            assert rt["image"] in ran  # the call ran in the node's own engine

            again = op.cli("runtime", "add", "python", "--json")
            assert {n: o["how"] for n, o in json.loads(again.stdout)["nodes"].items()} == {
                "local": "present", name: "present"}
            assert "carrying" not in again.stderr
            plain = op.cli("runtime", "add", "python")
            assert f"{name}: present, nothing to do" in plain.stdout and "local: present, nothing to do" in plain.stdout
        finally:
            op.cli("node", "rm", name, check=False)
            op.cli("node", "rm", "local", check=False)
            remove_leftovers([name])
