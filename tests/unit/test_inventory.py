"""The inventory loader (faasctl/core/inventory.py): real TOML files in a tmp folder.

Defaults merge under each node, `host` may carry user and port, relative key paths are
read from the inventory's folder, and every mistake is one InvalidInput naming the node.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faasctl.core import inventory
from faasctl.errors import InvalidInput, NotFound

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return path


def test_the_example_inventory_loads_with_defaults_and_overrides() -> None:
    specs = {s.name: s for s in inventory.load(REPO / "inventory.example.toml")}
    assert list(specs) == ["web1", "web2", "batch1"]
    web1, web2, batch1 = specs["web1"], specs["web2"], specs["batch1"]
    assert (web1.host, web1.port, web1.user) == ("10.0.0.11", 22, "root")
    assert web1.key_path == "~/.ssh/id_ed25519"  # a home-relative path is left for SSH to expand
    assert web1.labels == {"zone": "eu-west", "disk": "ssd"}
    assert web1.pinned_fingerprint.startswith("SHA256:") and not web1.accept_new
    assert web1.defaults == {"preload": "function"}
    # `host` carries user and port, and they win over [defaults]
    assert (web2.host, web2.port, web2.user) == ("10.0.0.12", 2222, "deploy")
    assert web2.defaults == {"preload": "runtime"}
    assert batch1.accept_new
    assert batch1.defaults == {"max_concurrency": 32, "memory_mb": 1024, "preload": "function"}
    assert all((s.agent_port, s.agent_bind, s.http_port, s.sudo, s.tunnel) == (7701, "0.0.0.0", 7702, False, False)
               for s in specs.values())


def test_relative_key_is_read_from_the_inventory_folder_and_fields_override(tmp_path: Path) -> None:
    path = write(tmp_path, """
[defaults]
key = "keys/id_ed25519"
agent_port = 7800
sudo = true

[nodes.a]
host = "10.0.0.1"

[nodes.b]
host = "10.0.0.2"
key = "/etc/faasctl/id"
agent_port = 7900
agent_address = "203.0.113.7:17900"
tunnel = true
home = "/srv/agent"
port = 2200
""")
    a, b = inventory.load(path)
    assert a.key_path == str((tmp_path / "keys" / "id_ed25519").resolve())
    assert (a.agent_port, a.sudo, a.port) == (7800, True, 22)
    assert (b.key_path, b.agent_port, b.agent_address, b.tunnel, b.home, b.port) == (
        "/etc/faasctl/id", 7900, "203.0.113.7:17900", True, "/srv/agent", 2200)


@pytest.mark.parametrize(("text", "words"), [
    ('[nodes.a]\nhost = "h"\nagnet_port = 1\n', ["node a", "unknown field", "agnet_port"]),
    ('[defaults]\nuser = "x"\n', ["lists no nodes"]),
    ('[node.a]\nhost = "h"\n', ["unknown top-level table", "node"]),
    ('[nodes.a]\nuser = "root"\n', ["node a has no host"]),
    ('[nodes.a]\nhost = "h:ssh"\n', ["'h:ssh' is not [USER@]HOST[:PORT]"]),
    ('[nodes.a]\nhost = "h"\nagent_port = "seven"\n', ["node a:"]),
    ('[nodes.a]\nhost = "h"\npreload = "always"\n', ["preload 'always'"]),
    ('[nodes.a]\nhost = "h"\npolicy = { max_concurrency = 0 }\n', ["--max-concurrency 0 is outside"]),
    ('[nodes.a]\nhost = "h"\npolicy = { colour = "red" }\n', ["unknown policy option 'colour'"]),
    ('[nodes.a\nhost = "h"\n', ["inventory.toml"]),
])
def test_mistakes_are_refused_in_one_line(tmp_path: Path, text: str, words: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        inventory.load(write(tmp_path, text))
    message = caught.value.message
    assert "\n" not in message
    for word in words:
        assert word in message


def test_unknown_field_hint_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        inventory.load(write(tmp_path, '[defaults]\nagnet_port = 1\n[nodes.a]\nhost = "h"\n'))
    assert "agent_port" in (caught.value.hint or "")


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        inventory.load(tmp_path / "nowhere.toml")
    assert "inventory.example.toml" in (caught.value.hint or "")
