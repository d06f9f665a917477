"""A node whose agent port is not reachable: with `tunnel = true` the agent binds the
node's loopback only and faasctl reaches it through its verified SSH session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.node_containers import inventory_entry, node_containers, remove_leftovers
from tests.support.operator import node_name, operator
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e


def test_agent_reached_through_an_ssh_tunnel(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e-tunnel")
    op = operator(tmp_path)
    name = node_name("tun")
    with node_containers(1, public) as (node,):
        entry = inventory_entry(name, node)
        published = next(line for line in entry.splitlines() if line.startswith("agent_address"))
        entry = entry.replace(published + "\n", "tunnel = true\n")  # dial nothing directly
        inventory = tmp_path / "inventory.toml"
        inventory.write_text(f'[defaults]\nkey = "{key}"\n\n' + entry)
        try:
            op.cli("node", "import", str(inventory))
            listening = node.exec(["sh", "-c", "python3 - <<'EOF'\nimport json,glob\n"
                                   "print(json.load(open(glob.glob('/root/.faasctl-agent/*/agent.json')[0]))"
                                   "['zmq_endpoint'])\nEOF"]).output.decode().strip()
            assert listening == "tcp://127.0.0.1:7701", listening  # loopback only on the node
            op.cli("runtime", "add", "python", "--from", "runtimes/python")
            op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
            call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=3d6", "--json").stdout)
            assert call["status"] == "DONE" and len(json.loads(call["result"])) == 3
            listed = {n["name"]: n for n in json.loads(op.cli("node", "list", "--json").stdout)}
            assert listed[name]["status"]["up"] is True

            # The published agent port leads nowhere: a direct client never completes a handshake.
            from faasctl.agentclient import AgentClient
            from faasctl.errors import NotDelivered

            ctx = op.context()
            ident = ctx.identity()
            direct = AgentClient(name, f"tcp://127.0.0.1:{node.get_exposed_port(7701)}", listed[name]["server_key"],
                                 ident["public"], ident["secret"])
            with pytest.raises(NotDelivered):
                direct.request("hello", timeout=2, connect_timeout=2)
            direct.close()
        finally:
            op.cli("node", "rm", name, check=False)
            remove_leftovers([name])
