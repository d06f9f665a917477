"""CLI argument handling that needs no platform."""

from __future__ import annotations

import subprocess
import sys

import pytest

from faasctl.cli.top import parse_params
from faasctl.core.functions import check_policy
from faasctl.core.names import check_name
from faasctl.errors import InvalidInput


def test_params_from_pairs_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert parse_params(["roll=4d6", "x=a=b"], None) == {"roll": "4d6", "x": "a=b"}
    assert parse_params([], '{"roll": "4d6"}') == {"roll": "4d6"}
    with pytest.raises(InvalidInput, match="not KEY=VALUE"):
        parse_params(["novalue"], None)
    with pytest.raises(InvalidInput, match="not valid JSON"):
        parse_params([], "{")
    with pytest.raises(InvalidInput, match="not both"):
        parse_params(["a=1"], "{}")


@pytest.mark.parametrize("name", ["Dice", "-x", "a b", "x" * 64, "../etc", ""])
def test_bad_names_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="valid"):
        check_name(name, "function")


def test_policy_ranges() -> None:
    assert check_policy({"timeout": "2", "preload": "none", "cpus": None}) == {"timeout": 2.0, "preload": "none"}
    with pytest.raises(InvalidInput, match="preload"):
        check_policy({"preload": "always"})
    with pytest.raises(InvalidInput, match="outside"):
        check_policy({"max_concurrency": 0})


def test_help_is_fast_to_import_and_lists_nouns() -> None:
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "faasctl", "--help"],
                         capture_output=True, text=True, check=True)
    for noun in ("node", "runtime", "fn", "call", "invoke"):
        assert noun in out.stdout
    heavy = {"sqlmodel", "sqlalchemy", "docker", "paramiko", "fabric", "textual", "zmq"}
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert not heavy & imported, f"--help imported {heavy & imported}"
