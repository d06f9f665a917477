"""A node reached as an ordinary user who may not use Docker, with `sudo = true`:
every node command (and rsync's remote side) runs under `sudo -n`, so the agent runs
as root although the SSH login is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.node_containers import inventory_entry, node_containers, remove_leftovers
from tests.support.operator import node_name, operator
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e

MAKE_USER = """set -e
useradd -m -s /bin/sh ops
usermod -p "*" ops
mkdir -p /home/ops/.ssh
cp /root/.ssh/authorized_keys /home/ops/.ssh/authorized_keys
chown -R ops:ops /home/ops/.ssh
chmod 700 /home/ops/.ssh
echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/ops
chmod 440 /etc/sudoers.d/ops
"""


def test_sudo_user_without_docker_access(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e-sudo")
    op = operator(tmp_path)
    name = node_name("sudo")
    with node_containers(1, public) as (node,):
        made = node.exec(["sh", "-c", MAKE_USER])
        assert made.exit_code == 0, made.output
        denied = node.exec(["su", "ops", "-c", "test -w /var/run/docker.sock"])
        assert denied.exit_code != 0  # ops alone cannot use Docker
        inventory = tmp_path / "inventory.toml"
        home = f"/srv/faasctl-{name}"
        inventory.write_text(f'[defaults]\nkey = "{key}"\n\n'
                             + inventory_entry(name, node, user="ops", home=home).replace(
                                 f"[nodes.{name}]\n", f"[nodes.{name}]\nsudo = true\n"))
        try:
            op.cli("node", "import", str(inventory))
            op.cli("runtime", "add", "python", "--from", "runtimes/python")
            op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
            call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=2d6", "--json").stdout)
            assert call["status"] == "DONE" and call["node"] == name
            owner = node.exec(["sh", "-c", f"stat -c %U /proc/$(cat {home}/agent.pid) {home}/artifacts"])
            assert owner.output.decode().split() == ["root", "root"], owner.output
        finally:
            op.cli("node", "rm", name, check=False)
            remove_leftovers([name])
