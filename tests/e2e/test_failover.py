"""Issue 16 end to end: a dead or hung agent costs callers nothing, and comes back.

Two node containers over SSH with `dice` on both. First one agent and its supervisor
are killed (kill -9: the connection is refused), then the other agent is frozen
(SIGSTOP: the port accepts, nothing answers). Each time every call still succeeds on
the other node, `node list --json` shows the suspect mark, an explicit `--node` on the
suspect node fails at once (exit 5, naming --force-probe), and the node is used again
after a restart (`node upgrade`, which starts the agent) or SIGCONT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.node_containers import inventory_entry, node_containers, remove_leftovers
from tests.support.operator import node_name, operator
from tests.support.platform import Platform
from tests.support.sshd import generate_ed25519_key

pytestmark = pytest.mark.e2e

AGENT = "faasctl_agent"  # the agent's and its supervisor's command lines (python -m faasctl_agent ...)


def signal_agent(container: Any, sig: str) -> None:
    result = container.exec(["pkill", f"-{sig}", "-f", AGENT])
    assert result.exit_code == 0, result.output  # pkill: 0 when it signalled at least one process


def invoke(op: Platform, *args: str) -> dict[str, Any]:
    call: dict[str, Any] = json.loads(op.cli("invoke", "dice", "-p", "roll=1d6", "--json", *args).stdout)
    assert call["status"] == "DONE", call
    return call


def health(op: Platform) -> dict[str, dict[str, Any]]:
    return {n["name"]: n["health"] for n in json.loads(op.cli("node", "list", "--json").stdout)}


def used_again(op: Platform, name: str, tries: int = 40) -> bool:
    """Invoke until a call lands on `name` (bounded); a probe brings it back when its window ends."""
    import time

    for _ in range(tries):
        if invoke(op)["node"] == name:
            return True
        time.sleep(0.5)
    return False


def assert_skipped(op: Platform, down: str, alive: str, error_words: tuple[str, ...]) -> None:
    for _ in range(4):
        assert invoke(op)["node"] == alive  # no failed call while one node is down
    marks = health(op)
    assert marks[down]["suspect"] and not marks[alive]["suspect"], marks
    assert any(w in marks[down]["last_error"] for w in error_words), marks[down]
    assert marks[down]["down_since"] <= marks[down]["last_failed_at"] < marks[down]["next_probe_at"]
    refused = op.cli("invoke", "dice", "--node", down, "-p", "roll=1d6", check=False)
    assert refused.returncode == 5, refused.stderr
    assert f"node {down} is down since" in refused.stderr and "--force-probe" in refused.stderr


def test_dead_then_hung_agent_calls_keep_succeeding(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    public = generate_ed25519_key(key, "faasctl-e2e")
    op = operator(tmp_path)
    names = [node_name("fo") for _ in range(2)]
    with node_containers(2, public) as containers:
        inventory = tmp_path / "inventory.toml"
        inventory.write_text(f'[defaults]\nuser = "root"\nkey = "{key}"\nagent_port = 7701\n\n'
                             + "".join(inventory_entry(n, c) for n, c in zip(names, containers)))
        try:
            imported = op.cli("node", "import", str(inventory), "--json")
            assert [o["ok"] for o in json.loads(imported.stdout)] == [True, True], imported.stderr
            op.cli("runtime", "add", "python", "--from", "runtimes/python")
            op.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
            assert {invoke(op, "--node", n)["node"] for n in names} == set(names)

            # 1. kill -9 of the agent and its supervisor on the second node: refused
            first, second = names
            signal_agent(containers[1], "KILL")
            assert_skipped(op, second, first, ("refused", "dropped", "handshake"))
            forced = op.cli("invoke", "dice", "--node", second, "--force-probe", "-p", "roll=1d6", check=False)
            assert forced.returncode == 5 and "is down since" not in forced.stderr  # it did try the node
            op.cli("node", "upgrade", second)  # starts the agent again
            assert used_again(op, second)
            assert not health(op)[second]["suspect"]

            # 2. SIGSTOP of the first node's agent: it accepts, never answers
            signal_agent(containers[0], "STOP")
            assert_skipped(op, first, second, ("handshake",))
            status = op.cli("node", "status", first, check=False)  # probes at once: still frozen
            assert status.returncode == 5 and f"node {first} is down since" in status.stderr
            signal_agent(containers[0], "CONT")
            back = json.loads(op.cli("node", "status", first, "--json").stdout)  # probes at once, clears
            assert back["up"] and not back["health"]["suspect"]
            assert used_again(op, first)
        finally:
            for container in containers:
                container.exec(["pkill", "-CONT", "-f", AGENT])
            for name in names:
                op.cli("node", "rm", name, check=False)
            remove_leftovers(names)
