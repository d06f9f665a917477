"""`faasctl node import`: an inventory of two real loopback sshd nodes and one that does
not answer. The two are bootstrapped in parallel, the third fails on its own line
without stopping them, and the command exits non-zero; a re-import is a no-op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.operator import free_port, node_name, operator
from tests.support.sshd import SshServer, start_sshd

pytestmark = pytest.mark.integration


def entry(name: str, server: SshServer, home: Path) -> str:
    return (f'[nodes.{name}]\nhost = "{server.user}@{server.host}:{server.port}"\n'
            f'key = "{server.client_key_path}"\nhome = "{home}"\n'
            f'agent_port = {free_port()}\nhttp_port = {free_port()}\nlabels = {{ zone = "{name}" }}\n\n')


def test_import_fans_out_and_reports_each_node(sshd: SshServer, tmp_path: Path) -> None:
    op = operator(tmp_path)
    a, b, dead = node_name("imp"), node_name("imp"), node_name("dead")
    (tmp_path / "second").mkdir()
    with start_sshd(tmp_path / "second") as other:
        inventory = tmp_path / "inventory.toml"
        inventory.write_text(
            '[defaults]\naccept_new_host_key = true\nagent_bind = "127.0.0.1"\npreload = "function"\n\n'
            + entry(a, sshd, tmp_path / "home-a") + entry(b, other, tmp_path / "home-b")
            + f'[nodes.{dead}]\nhost = "127.0.0.1:{free_port()}"\nkey = "{sshd.client_key_path}"\n')
        try:
            proc = op.cli("node", "import", str(inventory), "-j", "2", check=False)
            assert proc.returncode == 13, proc.stderr  # NodesFailed
            assert f"[{a}]" in proc.stderr and f"[{b}]" in proc.stderr  # per-node progress lines
            assert f"[{dead}] FAILED: node {dead}: cannot reach" in proc.stderr
            assert f"1 of 3 node(s) failed: {dead}" in proc.stderr
            rows = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[1:]}
            assert rows == {a: "ok", b: "ok", dead: "FAILED"}

            nodes = json.loads(op.cli("node", "list", "--json").stdout)
            assert sorted((n["name"], n["status"]["up"], n["labels"]["zone"]) for n in nodes) == \
                sorted([(a, True, a), (b, True, b)])

            inventory.write_text(inventory.read_text().split(f"[nodes.{dead}]")[0])
            again = op.cli("node", "import", str(inventory), "--json")
            outcome = json.loads(again.stdout)
            assert [o["ok"] for o in outcome] == [True, True]
            assert "push wheels" not in again.stderr and "install agent" not in again.stderr
        finally:
            op.cli("node", "rm", a, b, check=False)


def test_import_refuses_unknown_fields(tmp_path: Path) -> None:
    op = operator(tmp_path)
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[nodes.web1]\nhost = "10.0.0.1"\nagnet_port = 7701\n')
    proc = op.cli("node", "import", str(inventory), check=False)
    assert proc.returncode == 2 and "unknown field(s) agnet_port" in proc.stderr


def test_example_inventory_parses() -> None:
    from faasctl.core import inventory

    specs = inventory.load(Path(__file__).resolve().parents[2] / "inventory.example.toml")
    assert [s.name for s in specs] == ["web1", "web2", "batch1"]
    assert (specs[1].user, specs[1].port, specs[1].defaults["preload"]) == ("deploy", 2222, "runtime")
