"""NodeSpec (faasctl/core/nodespec.py): one model read from `node add` options, inventory
entries and state rows, and the connector registry that reaches a node by its kind."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from faasctl import connectors
from faasctl.connectors.local import LocalConnector
from faasctl.connectors.ssh import SshConnector
from faasctl.core.nodespec import FIELDS, NodeSpec, parse_host
from faasctl.errors import InvalidInput


def test_host_carries_user_and_port_which_win_over_the_fields() -> None:
    spec = NodeSpec.parse("n1", {"host": "deploy@10.0.0.5:2200", "user": "root", "port": 22})
    assert (spec.user, spec.host, spec.port) == ("deploy", "10.0.0.5", 2200)
    assert parse_host("10.0.0.5") == ("", "10.0.0.5", None)
    with pytest.raises(InvalidInput):
        parse_host("10.0.0.5:ssh")


def test_entry_names_map_to_fields_with_their_types(tmp_path: Path) -> None:
    spec = NodeSpec.parse("n1", {"host": "h", "key": "keys/id", "agent_port": "7800", "sudo": 1,
                                 "host_key_fingerprint": "SHA256:abc", "accept_new_host_key": True,
                                 "labels": {"zone": 1}, "preload": "runtime"}, tmp_path)
    assert spec.key_path == str(tmp_path / "keys" / "id") and spec.agent_port == 7800 and spec.sudo is True
    assert (spec.pinned_fingerprint, spec.accept_new) == ("SHA256:abc", True)
    assert spec.labels == {"zone": "1"} and spec.defaults == {"preload": "runtime"}
    assert NodeSpec.parse("n1", {"host": "h", "key": "~/id"}, tmp_path).key_path == "~/id"


def test_mistakes_are_invalid_input_naming_the_node() -> None:
    for entry, words in (({"host": "h", "agnet_port": 1}, "unknown field(s) agnet_port"),
                         ({"port": 22}, "has no host"), ({"host": "h", "agent_port": "x"}, "node n1:"),
                         ({"host": "h", "preload": "always"}, "preload")):
        with pytest.raises(InvalidInput) as caught:
            NodeSpec.parse("n1", entry)
        assert words in caught.value.message
    assert {"host", "key", "tunnel", "policy"} <= FIELDS


def test_endpoint_direct_translated_or_tunnelled() -> None:
    assert NodeSpec.parse("n", {"host": "h"}).endpoint() == "tcp://h:7701"
    assert NodeSpec.parse("n", {"host": "h", "agent_address": "1.2.3.4:17"}).endpoint() == "tcp://1.2.3.4:17"
    assert NodeSpec.parse("n", {"host": "h", "tunnel": True, "agent_port": 9}).endpoint() == "tcp://127.0.0.1:9"


def test_a_state_row_gives_back_the_spec_it_was_made_from() -> None:
    spec = NodeSpec.parse("n1", {"host": "u@h:2222", "labels": {"a": "b"}, "policy": {"preload": "function"},
                                 "agent_port": 7801, "http_port": 7802, "sudo": True, "home": "/srv/a"})
    row = {"name": "n1", "kind": "ssh", "host": "h", "port": 2222, "user": "u", "key_path": "",
           "labels": {"a": "b"}, "agent_home": "/srv/a", "zmq_endpoint": spec.endpoint(), "http_port": 7802,
           "defaults": json.dumps({**spec.defaults, "_ssh": spec.ssh_settings("b1")})}
    again = NodeSpec.from_row(row)
    assert again.endpoint() == spec.endpoint()
    assert (again.defaults, again.sudo, again.agent_port, again.http_port, again.home) == \
        (spec.defaults, True, 7801, 7802, "/srv/a")


def test_the_registry_picks_the_connector_by_kind(tmp_path: Path) -> None:
    local = connectors.for_node({"name": "local", "kind": "local"}, tmp_path)
    assert isinstance(local, LocalConnector) and local.agent_python("/x") == sys.executable
    row = {"name": "n1", "kind": "ssh", "host": "h", "port": 22, "user": "", "key_path": "",
           "defaults": json.dumps({"_ssh": {"sudo": True, "tunnel": False}})}
    ssh = connectors.for_node(row, tmp_path)
    assert isinstance(ssh, SshConnector) and ssh.target.sudo and ssh.target.known_hosts == tmp_path / "known_hosts"
    assert ssh.agent_python("/a") == "/a/venv/bin/python"
    assert ssh.endpoint("tcp://h:7701") == "tcp://h:7701"  # not a tunnel node: dialled as is, no session
    for kind in ("k8s", "base", "transfer", "../x"):
        with pytest.raises(InvalidInput) as caught:
            connectors.for_node({"name": "n2", "kind": kind}, tmp_path)
        assert f"kind {kind!r}" in caught.value.message


def test_agent_refuses_a_malformed_client_key_and_skips_a_bad_key_file(tmp_path: Path) -> None:
    import zmq
    from faasctl_agent.keys import AllowList, authorize
    from faasctl_agent.protocol import E_BAD_REQUEST, AgentFailure

    for bad in ("short", "~" * 40):
        with pytest.raises(AgentFailure) as caught:
            authorize(tmp_path, "operator", bad)
        assert caught.value.code == E_BAD_REQUEST and "not a CURVE public key" in caught.value.message
    public, _ = zmq.curve_keypair()
    authorize(tmp_path, "operator", public.decode())
    (tmp_path / "broken.key").write_text("not a certificate\n")
    allow = AllowList(tmp_path)
    assert allow.callback("*", public) and not allow.callback("*", b"x" * 32)
