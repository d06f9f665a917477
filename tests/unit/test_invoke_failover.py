"""Invoke failover (faasctl/core/invoke.py with core/health.py) over a real state file.

Only the agent client seam (`Context.client`) is replaced: each node answers, never gets
the request (NotDelivered), loses it after taking it (NodeUnreachable) or refuses it.
The rules: a node that never got the call is skipped for the next one; a node that had
it is never retried elsewhere (LOST); a suspect node is skipped while its window lasts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from faasctl.config import Settings
from faasctl.core import health
from faasctl.core.context import Context
from faasctl.core.invoke import invoke
from faasctl.errors import AgentError, CallTimedOut, FunctionFailed, NodeUnreachable, NotDelivered, NotFound
from faasctl.state import keyfiles
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Deployment, Function, Node, Runtime

NODES = ("n1", "n2", "n3")
FAR = time.time() + 86_400.0  # a failure "tomorrow": its window cannot end during the test


def reply(status: str = "DONE", **values: Any) -> dict[str, Any]:
    return {"status": status, "result": "7", "error": "", "log": "", "start_kind": "warm", "queue_ms": 0.1,
            "start_ms": 0.0, "run_ms": 1.5, "finished_at": 2.0, "accepted_at": 1.0, **values}


class FakeAgent:
    """One node's agent: `behaviour` is a reply dict or an exception to raise."""

    def __init__(self, name: str, behaviour: dict[str, Any] | Exception) -> None:
        self.name, self.behaviour = name, behaviour
        self.endpoint = "tcp://127.0.0.1:9"
        self.requests: list[tuple[str, dict[str, Any] | None, float]] = []

    def request(self, op: str, args: dict[str, Any] | None = None, timeout: float = 10.0,
                connect_timeout: float | None = None) -> dict[str, Any]:
        self.requests.append((op, args, timeout))
        if isinstance(self.behaviour, Exception):
            raise self.behaviour
        return dict(self.behaviour)

    def close(self) -> None:
        pass


class SeamContext(Context):
    def __init__(self, home: Path, agents: dict[str, FakeAgent]) -> None:
        super().__init__(Settings(home=home))
        self.agents = agents

    def client(self, node: dict[str, Any], identity: dict[str, str] | None = None) -> Any:
        return self.agents[node["name"]]


def make_state(home: Path, *, placement: str = "round-robin", policy: dict[str, Any] | None = None) -> None:
    engine = open_engine(home / "state.db")
    with transaction(engine) as s:
        s.add(Runtime(name="python", image="img"))
        for name in NODES:
            s.add(Node(name=name, zmq_endpoint="tcp://127.0.0.1:9", server_key="k"))
    with transaction(engine) as s:
        s.add(Function(name="dice", runtime_name="python", version=3, digest="d" * 64, placement=placement,
                       policy=policy or {}))
        for name in NODES:
            s.add(Deployment(function_name="dice", node_name=name, digest="d" * 64, version=3))
    engine.dispose()
    keyfiles.store(home / "keys", {"public": "p", "secret": "s"})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    make_state(tmp_path)
    return tmp_path


def run(home: Path, behaviours: dict[str, dict[str, Any] | Exception], **kwargs: Any
        ) -> tuple[SeamContext, dict[str, FakeAgent], dict[str, Any]]:
    agents = {name: FakeAgent(name, behaviours.get(name, reply())) for name in NODES}
    ctx = SeamContext(home, agents)
    return ctx, agents, invoke(ctx, "dice", {"roll": "2d6"}, **kwargs)


def calls(ctx: Context) -> list[dict[str, Any]]:
    return [dict(r) for r in ctx.fast.execute("SELECT * FROM call ORDER BY call_num")]


def invoked(agents: dict[str, FakeAgent]) -> list[str]:
    return [name for name, agent in agents.items() if any(op == "invoke" for op, _, _ in agent.requests)]


def test_a_node_that_never_got_the_call_is_skipped_and_marked_suspect(home: Path) -> None:
    ctx, agents, result = run(home, {"n1": NotDelivered("node n1 refused the connection")})
    assert invoked(agents) == ["n1", "n2"]
    assert (result["status"], result["node"], result["callNum"]) == ("DONE", "n2", 1)
    (row,) = calls(ctx)
    assert (row["status"], row["node"], row["result"]) == ("DONE", "n2", "7")
    assert json.loads(row["params"]) == {"roll": "2d6"}
    suspects = health.read_all(ctx.fast)
    assert list(suspects) == ["n1"] and suspects["n1"]["last_error"] == "node n1 refused the connection"
    # the call the first node never got carries the same id to the second one
    (_, first, _), (_, second, _) = agents["n1"].requests[0], agents["n2"].requests[0]
    assert first == second and first is not None and first["call_id"] == row["uid"]


def test_a_node_that_took_the_call_and_went_silent_is_lost_never_retried(home: Path) -> None:
    agents = {name: FakeAgent(name, reply()) for name in NODES}
    agents["n1"].behaviour = NodeUnreachable("node n1 did not answer within 45 s")
    ctx = SeamContext(home, agents)
    with pytest.raises(NodeUnreachable):
        invoke(ctx, "dice", {})
    assert invoked(agents) == ["n1"]
    (row,) = calls(ctx)
    assert (row["status"], row["node"], row["error"]) == ("LOST", "n1", "node n1 did not answer within 45 s")
    assert list(health.read_all(ctx.fast)) == ["n1"]


def test_an_agent_refusal_is_an_error_and_not_a_health_failure(home: Path) -> None:
    agents = {name: FakeAgent(name, reply()) for name in NODES}
    agents["n1"].behaviour = AgentError("function dice is not deployed here")
    ctx = SeamContext(home, agents)
    with pytest.raises(AgentError):
        invoke(ctx, "dice", {})
    assert invoked(agents) == ["n1"]
    assert [(r["status"], r["node"]) for r in calls(ctx)] == [("ERROR", "n1")]
    assert health.read_all(ctx.fast) == {}


def test_when_no_node_takes_the_call_it_fails_naming_them_all(home: Path) -> None:
    agents = {name: FakeAgent(name, NotDelivered(f"node {name} refused")) for name in NODES}
    ctx = SeamContext(home, agents)
    with pytest.raises(NodeUnreachable) as caught:
        invoke(ctx, "dice", {})
    assert caught.value.message == "no node holding dice answered (n1, n2, n3)"
    assert invoked(agents) == list(NODES)  # each tried once: the loop is bounded by the nodes
    assert [(r["status"], r["node"]) for r in calls(ctx)] == [("ERROR", "")]
    assert sorted(health.read_all(ctx.fast)) == list(NODES)


def test_a_suspect_node_is_skipped_while_its_window_lasts(home: Path) -> None:
    agents = {name: FakeAgent(name, reply()) for name in NODES}
    ctx = SeamContext(home, agents)
    health.record_failure(ctx.fast, "n1", "refused", now=FAR)
    invoke(ctx, "dice", {})
    assert invoked(agents) == ["n2"]
    assert health.read_all(ctx.fast)["n1"]["failures"] == 1  # not probed, not counted again


def test_all_suspect_fails_at_once_without_recording_a_call(home: Path) -> None:
    agents = {name: FakeAgent(name, reply()) for name in NODES}
    ctx = SeamContext(home, agents)
    for name in NODES:
        health.record_failure(ctx.fast, name, f"{name} refused", now=FAR)
    with pytest.raises(NodeUnreachable) as caught:
        invoke(ctx, "dice", {})
    assert caught.value.message.startswith("node n1 is down since") and "n1 refused" in caught.value.message
    assert "--force-probe" in caught.value.hint
    assert invoked(agents) == [] and calls(ctx) == []


def test_force_probe_tries_a_suspect_node_and_clears_it_when_it_answers(home: Path) -> None:
    agents = {name: FakeAgent(name, reply()) for name in NODES}
    ctx = SeamContext(home, agents)
    health.record_failure(ctx.fast, "n2", "refused", now=FAR)
    invoke(ctx, "dice", {}, node="n2", force_probe=True)
    assert invoked(agents) == ["n2"] and health.read_all(ctx.fast) == {}


def test_node_option_pins_the_call_and_an_unknown_node_is_not_found(home: Path) -> None:
    ctx, agents, _ = run(home, {}, node="n3")
    assert invoked(agents) == ["n3"]
    with pytest.raises(NotFound) as caught:
        invoke(ctx, "dice", {}, node="n9")
    assert "it is on: n1, n2, n3" in caught.value.hint


def test_round_robin_starts_after_the_node_of_the_last_call(home: Path) -> None:
    agents = {name: FakeAgent(name, reply()) for name in NODES}
    ctx = SeamContext(home, agents)
    for _ in range(4):
        invoke(ctx, "dice", {})
    assert [r["node"] for r in calls(ctx)] == ["n1", "n2", "n3", "n1"]


def test_retries_and_async_go_to_the_agent_with_their_own_timeouts(tmp_path: Path) -> None:
    make_state(tmp_path, policy={"timeout": 5.0})
    ctx, agents, _ = run(tmp_path, {}, is_async=True, retries=2)
    op, args, timeout = agents["n1"].requests[0]
    assert op == "invoke" and args is not None
    assert (args["retries"], args["async"], args["function"], args["digest"]) == (2, True, "dice", "d" * 64)
    assert timeout == 10.0  # an async call waits only for its acknowledgement
    agents["n2"].requests.clear()
    invoke(ctx, "dice", {})
    assert agents["n2"].requests[0][1]["retries"] == 0  # type: ignore[index]
    assert agents["n2"].requests[0][2] == 5.0 + 15.0  # a sync call waits for the function's timeout


def test_raise_on_failure_maps_error_and_timeout_after_recording_them(home: Path) -> None:
    agents = {name: FakeAgent(name, reply("ERROR", error="Traceback...\nValueError: boom\n")) for name in NODES}
    ctx = SeamContext(home, agents)
    with pytest.raises(FunctionFailed) as failed:
        invoke(ctx, "dice", {}, raise_on_failure=True)
    assert "ValueError: boom" in failed.value.message
    for agent in agents.values():
        agent.behaviour = reply("TIMEOUT", error="no result within 5 s; container killed")
    with pytest.raises(CallTimedOut):
        invoke(ctx, "dice", {}, raise_on_failure=True)
    assert [r["status"] for r in calls(ctx)] == ["ERROR", "TIMEOUT"]
    assert invoke(ctx, "dice", {})["status"] == "TIMEOUT"  # without the flag, the record is returned
