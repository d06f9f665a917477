"""Issue 10's "one home per concept" leftovers: what used to be copied now comes from its
one definition (the policy model, the protocol, the exception tree)."""

from __future__ import annotations

from pathlib import Path

from faasctl_agent import policy, protocol

from faasctl.errors import ExitCode, FaasctlError, NodeSetupFailed, NodesFailed
from tests.support.cli import cli


def test_a_function_rows_placement_default_is_the_policy_models() -> None:
    from faasctl.state.models import Function

    assert Function(name="f", runtime_name="r").placement == policy.Policy().placement


def test_node_add_help_is_written_by_the_policy_model(tmp_path: Path) -> None:
    out = cli("node", "add", "--help", env={"FAASCTL_HOME": str(tmp_path), "COLUMNS": "1000"}).stdout
    flat = " ".join(out.split())
    for name in ("preload", "stem_cells"):
        assert " ".join(policy.SPECS[name].describe().split()) in flat


def test_node_add_refuses_stem_cells_out_of_the_models_bounds(tmp_path: Path) -> None:
    high = int(policy.SPECS["stem_cells"].high or 0) + 1
    proc = cli("node", "add", "local", "--stem-cells", str(high), env={"FAASCTL_HOME": str(tmp_path)}, check=False)
    assert proc.returncode == ExitCode.INVALID_INPUT, proc.stderr
    assert not (tmp_path / "nodes").exists()  # refused before anything was set up


def test_the_api_test_helper_polls_until_the_protocols_final_statuses() -> None:
    from tests.support import apiserver

    assert apiserver.FINAL is protocol.FINAL


def test_errors_that_were_untyped_have_their_class() -> None:
    assert NodesFailed("1 of 2 node(s) failed: a").exit_code == ExitCode.NODES_FAILED == 13
    assert NodeSetupFailed("x").exit_code == ExitCode.NODE_SETUP
    import ast

    root = Path(__file__).resolve().parents[2] / "faasctl"
    mine = ["cli/node.py", "core/functions.py", "core/wheels.py", "core/agentsource.py", "core/nodes.py",
            "core/runtimes.py"]
    untyped = []
    for rel in mine:
        for node in ast.walk(ast.parse((root / rel).read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and getattr(node.exc.func, "id", "") == FaasctlError.__name__:
                untyped.append(f"{rel}:{node.lineno}")
    assert untyped == []
