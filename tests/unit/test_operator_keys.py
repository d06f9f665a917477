"""Operators' keys: what counts as a CURVE public key on both sides, and the agent's
allow-list replaced in one step on disk (real files, real zmq key pairs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import zmq
from faasctl_agent.keys import AllowList, authorize, check_key, recover
from faasctl_agent.protocol import E_BAD_REQUEST, AgentFailure

from faasctl.core.operators import check_key as operator_key
from faasctl.errors import ExitCode, InvalidInput


def pair() -> str:
    return zmq.curve_keypair()[0].decode()


def test_a_real_public_key_passes_both_checks_with_blanks_trimmed() -> None:
    key = pair()
    assert operator_key(f"  {key}\n") == key
    assert check_key("bob", f" {key} ") == key


@pytest.mark.parametrize("bad, why", [("", "0 characters"), ("a" * 39, "39 characters"), ("a" * 41, "41 characters"),
                                      ("a" * 39 + "~", "'~' is not Z85"), ("a" * 39 + "\"", "'\"' is not Z85")])
def test_faasctl_refuses_what_is_not_a_key_as_bad_input(bad: str, why: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        operator_key(bad)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT == 2
    assert "is not a CURVE public key" in caught.value.message and why in caught.value.message
    assert "faasctl operator key" in caught.value.hint


def test_the_agent_refuses_a_bad_key_or_a_name_that_is_no_file_name() -> None:
    for name, key in [("bob", "short"), ("bob", "~" * 40), ("../x", pair()), (".hidden", pair()), ("", pair())]:
        with pytest.raises(AgentFailure) as caught:
            check_key(name, key)
        assert caught.value.code == E_BAD_REQUEST


def test_replace_swaps_the_whole_set_and_keeps_files_private(tmp_path: Path) -> None:
    folder = tmp_path / "keys" / "authorized"
    alice, bob, carol = pair(), pair(), pair()
    authorize(folder, "operator", alice)  # a folder as bootstrap made it (before any replace)
    allow = AllowList(folder)
    assert allow.allows(alice) and not allow.allows(bob)
    assert allow.replace({"alice": alice, "bob": bob}) == {"authorized": 2, "added": 1, "removed": 0}
    assert folder.is_symlink() and sorted(p.name for p in folder.iterdir()) == ["alice.key", "bob.key"]
    assert allow.allows(bob) and allow.callback("*", bob.encode())
    assert allow.replace({"alice": alice, "carol": carol}) == {"authorized": 2, "added": 1, "removed": 1}
    assert not allow.allows(bob) and not allow.callback("*", bob.encode()) and allow.allows(carol)
    assert folder.resolve().stat().st_mode & 0o777 == 0o700
    assert all((folder / n).stat().st_mode & 0o777 == 0o600 for n in ("alice.key", "carol.key"))
    siblings = sorted(p.name for p in folder.parent.iterdir())
    assert siblings == sorted(["authorized", folder.resolve().name])  # older sets removed
    assert AllowList(folder).users == {alice, carol}  # what a restarted agent reads
    authorize(folder, "dave", bob)  # `faasctl-agent authorize` still writes through the link
    assert allow.allows(bob)


def test_a_replace_with_a_bad_key_or_nothing_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "authorized"
    alice = pair()
    allow = AllowList(folder)
    allow.replace({"alice": alice})
    for keys in ({"alice": alice, "bob": "short"}, {}):
        with pytest.raises(AgentFailure):
            allow.replace(keys)
        assert allow.users == {alice} and AllowList(folder).users == {alice}


def test_recover_links_the_newest_set_after_a_crash_between_the_two_renames(tmp_path: Path) -> None:
    folder = tmp_path / "authorized"
    alice = pair()
    AllowList(folder).replace({"alice": alice})
    target = folder.resolve()
    os.unlink(folder)  # as if the agent died after moving the old folder aside
    recover(folder)
    assert folder.resolve() == target and AllowList(folder).users == {alice}


def test_the_bootstrap_probe_finds_our_key_under_any_operator_name(tmp_path: Path) -> None:
    from faasctl_agent.probe import authorized

    home, alice, bob = tmp_path / "agent", pair(), pair()
    assert not authorized(str(home), alice)  # no folder yet
    AllowList(home / "keys" / "authorized").replace({"alice": alice})
    assert authorized(str(home), alice) and not authorized(str(home), bob)
