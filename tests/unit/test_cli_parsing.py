"""CLI argument handling that needs no platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    heavy = {"sqlmodel", "sqlalchemy", "docker", "paramiko", "fabric", "textual", "zmq", "rich", "sqlite3", "json"}
    modules = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    imported = {module.split(".")[0] for module in modules}
    assert not heavy & imported, f"--help imported {heavy & imported}"


def _modules_after(args: list[str], home: Path) -> tuple[set[str], str]:
    """What `faasctl ARGS` has imported when it ends, from sys.modules: -X importtime
    misses modules loaded through importlib.import_module, as the root loads commands."""
    code = ("import sys\nfrom faasctl.cli.main import main\nsys.argv[1:] = sys.argv[2:]\ntry:\n    main()\n"
            "except SystemExit:\n    pass\nprint('MODULES', *sorted(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, "-", *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "FAASCTL_HOME": str(home)}).stdout
    printed, _, modules = out.rpartition("MODULES ")
    return set(modules.split()), printed


COMMAND_MODULES = {f"faasctl.cli.{m}" for m in ("top", "serve", "dashboard", "node", "runtime", "fn", "call",
                                                  "secret")}
HEAVY = ("sqlmodel", "sqlalchemy", "docker", "paramiko", "fabric", "textual", "zmq", "rich")


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    modules, printed = _modules_after(["--help"], tmp_path)
    assert "invoke" in printed
    assert not modules & COMMAND_MODULES, "the root's --help lists its table (cli/main.py), not the modules"
    assert not {m for m in modules if m.split(".")[0] in (*HEAVY, "json", "sqlite3")}
    assert not {m for m in modules if m.startswith(("faasctl.core", "faasctl.state"))}


@pytest.mark.parametrize("args", [["call", "list"], ["call", "get", "1"], ["fn", "list"], ["runtime", "list"]])
def test_read_only_commands_import_their_module_and_no_orm(args: list[str], tmp_path: Path) -> None:
    _modules_after(["runtime", "list"], tmp_path)  # the first run creates the state file (through the ORM)
    modules, _ = _modules_after(args, tmp_path)
    assert modules & COMMAND_MODULES == {f"faasctl.cli.{args[0]}"}
    assert not {m for m in modules if m.split(".")[0] in HEAVY}, f"{args} imported {sorted(modules)}"
