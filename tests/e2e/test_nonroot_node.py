"""A node reached as a non-root user who may use Docker (docker group), not root.

The user is made in a node container (its group gets the GID of the mounted Docker
socket, as the docker group would on a real host); bootstrap, deploy and invoke must
work without any root step, with the agent's home under that user's own home.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.node_containers import inventory_entry, node_containers, remove_leftovers
from tests.support.operator import node_name, operator
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e

MAKE_USER = """set -e
groupadd -o -g {gid} dockerhost
useradd -m -s /bin/sh -G dockerhost deploy
usermod -p "*" deploy  # "!" (locked) would make sshd refuse even key logins (UsePAM no)
mkdir -p /home/deploy/.ssh
cp /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys
chown -R deploy:deploy /home/deploy/.ssh
chmod 700 /home/deploy/.ssh
"""


def test_non_root_user_in_docker_group(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e-deploy")
    op = operator(tmp_path)
    name = node_name("deploy")
    with node_containers(1, public) as (container,):
        made = container.exec(["sh", "-c", MAKE_USER.format(gid=os.stat("/var/run/docker.sock").st_gid)])
        assert made.exit_code == 0, made.output
        inventory = tmp_path / "inventory.toml"
        inventory.write_text(f'[defaults]\nkey = "{key}"\n\n' + inventory_entry(name, container, user="deploy"))
        try:
            imported = op.cli("node", "import", str(inventory))
            assert "ok" in imported.stdout
            op.cli("runtime", "add", "python", "--from", "runtimes/python")
            op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
            call = json.loads(op.cli("invoke", "dice", "--node", name, "-p", "roll=2d6", "--json").stdout)
            assert call["status"] == "DONE" and call["node"] == name
            home = f"/home/deploy/.faasctl-agent/{name}"
            who = container.exec(["sh", "-c", f'stat -c %U /proc/$(cat {home}/agent.pid) {home}/venv'])
            assert who.output.decode().split() == ["deploy", "deploy"], who.output  # the agent runs as deploy
        finally:
            op.cli("node", "rm", name, check=False)
            remove_leftovers([name])
