"""End to end over SSH: three node containers driven by the CLI as an operator would.

`node import` of an inventory with the three (host keys pinned out of band, read with
docker exec), deploy a function to all, invoke it on each node, stop one container and
see `node list` report it down while the other two still serve. Each container
publishes sshd and the agent's CURVE socket on 127.0.0.1; the inventory's
agent_address tells faasctl the published port to dial.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.node_containers import inventory_entry, node_containers, remove_leftovers
from tests.support.operator import node_name, operator
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e

NODES = 3


def test_three_nodes_import_deploy_invoke_and_one_down(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e")
    op = operator(tmp_path)
    names = [node_name("e2e") for _ in range(NODES)]
    with node_containers(NODES, public) as containers:
        inventory = tmp_path / "inventory.toml"
        inventory.write_text(f'[defaults]\nuser = "root"\nkey = "{key}"\nagent_port = 7701\n\n'
                             + "".join(inventory_entry(n, c) for n, c in zip(names, containers)))
        try:
            imported = op.cli("node", "import", str(inventory), "--json")
            assert [o["ok"] for o in json.loads(imported.stdout)] == [True] * NODES, imported.stderr

            op.cli("runtime", "add", "python", "--from", "runtimes/python")
            op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
            for name in names:
                call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=2d6", "--json").stdout)
                assert call["status"] == "DONE" and call["node"] == name and len(json.loads(call["result"])) == 2
            # An agent in a node container sees paths the host's engine does not: its runner
            # sockets are refused at create and it falls back to the attach stream by itself.
            counted = json.loads(op.cli("node", "status", names[0], "--json").stdout)["counters"]
            assert counted.get("channels_attach", 0) >= 1 and "channels_socket" not in counted, counted

            down, alive = names[0], names[1:]
            containers[0].stop()
            listed = {n["name"]: n["status"]["up"] for n in json.loads(op.cli("node", "list", "--json").stdout)}
            assert listed == {down: False, **{n: True for n in alive}}
            for name in alive:
                call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=1d6", "--json").stdout)
                assert call["status"] == "DONE" and call["node"] == name
            placed = json.loads(op.cli("invoke", "dice", "-p", "roll=1d6", "--json").stdout)
            assert placed["status"] == "DONE" and placed["node"] in alive  # the down node is skipped

            refused = op.cli("node", "rm", down, check=False)
            assert refused.returncode == 5 and "--force" in refused.stderr
            op.cli("node", "rm", down, "--force")  # forgets it without reaching it
            assert down not in op.cli("node", "list").stdout
        finally:
            for name in names[1:]:
                op.cli("node", "rm", name, check=False)
            remove_leftovers(names)
