"""A node whose init is systemd: bootstrap runs the agent as a systemd service, systemd
restarts it after a crash, and `node rm` removes the unit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.node_containers import SYSTEMD_IMAGE, inventory_entry, node_containers, remove_leftovers
from tests.support.operator import node_name, operator
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e


def sh(container: object, script: str) -> str:
    result = container.exec(["sh", "-c", script])  # type: ignore[attr-defined]
    return str(result.output.decode().strip())


def test_agent_is_a_systemd_service(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e-systemd")
    op = operator(tmp_path)
    name = node_name("sysd")
    with node_containers(1, public, image=SYSTEMD_IMAGE) as (node,):
        assert sh(node, "systemctl is-system-running --wait 2>/dev/null || true") in ("running", "degraded")
        inventory = tmp_path / "inventory.toml"
        inventory.write_text(f'[defaults]\nkey = "{key}"\n\n' + inventory_entry(name, node))
        try:
            op.cli("node", "import", str(inventory))
            units = sh(node, "systemctl list-units --type=service --state=active --no-legend --plain "
                             "'faasctl-agent-*' | cut -d' ' -f1")
            assert units.startswith(f"faasctl-agent-{name}-") and units.endswith(".service"), units
            assert sh(node, f"systemctl is-enabled {units}") == "enabled"
            op.cli("runtime", "add", "python", "--from", "runtimes/python")
            op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
            assert json.loads(op.cli("invoke", "dice", "--node", name, "--json").stdout)["status"] == "DONE"

            first = sh(node, f"systemctl show -p MainPID --value {units}")
            sh(node, f"kill -9 {first}")  # a crash: systemd must bring it back
            deadline = time.monotonic() + 30
            call: dict[str, object] = {}
            while time.monotonic() < deadline:
                again = op.cli("invoke", "dice", "--node", name, "--json", check=False)
                if again.returncode == 0:
                    call = json.loads(again.stdout)
                    break
                time.sleep(0.5)
            assert call.get("status") == "DONE", "the agent did not come back after a crash"
            assert sh(node, f"systemctl show -p MainPID --value {units}") not in ("0", first)

            op.cli("node", "rm", name)
            assert sh(node, "ls /etc/systemd/system/ | grep -c faasctl-agent || true") == "0"
        finally:
            op.cli("node", "rm", name, "--force", check=False)
            remove_leftovers([name])
