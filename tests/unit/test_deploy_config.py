"""What `fn deploy --env/--secret` sends and records (core/functions.py with core/secrets.py)
over a real state file. Only the agent client seam (`Context.client`) is replaced, plus
the two node steps this does not test (runtime image, archive push). The rules: a secret's
value goes only in `secret_put`, the deploy names it; an agent that does not acknowledge
the configuration (older than faasctl) fails the deploy and nothing is recorded."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from faasctl.core import artifacts, functions, runtimes
from faasctl.core import secrets as core_secrets
from faasctl.errors import AgentError
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Node, Runtime
from tests.unit.test_invoke_failover import FakeAgent, SeamContext

VALUE = b"s3cr3t-\x00-value"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    engine = open_engine(tmp_path / "state.db")
    with transaction(engine) as s:
        s.add(Runtime(name="python", image="img", run="python3 test.py"))
        s.add(Node(name="n1", zmq_endpoint="tcp://127.0.0.1:9", server_key="k"))
    engine.dispose()
    monkeypatch.setattr(runtimes, "ensure_on_node", lambda ctx, rt, node: {"how": "present"})
    monkeypatch.setattr(artifacts, "push", lambda ctx, node, digest: 0)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("def handle(p):\n    return 1\n")
    return tmp_path


def deploy(home: Path, reply: dict[str, Any], **kwargs: Any) -> tuple[SeamContext, FakeAgent, dict[str, Any]]:
    agent = FakeAgent("n1", reply)
    ctx = SeamContext(home, {"n1": agent})
    return ctx, agent, functions.deploy(ctx, "f", home / "src", "python", handler="main:handle", **kwargs)


def test_the_value_goes_only_in_secret_put_and_the_state_keeps_names(home: Path) -> None:
    core_secrets.set_value(SeamContext(home, {}), "token", VALUE)  # no function uses it yet: sent nowhere
    ctx, agent, data = deploy(home, {"configured": True}, env={"A": "1"}, secrets=["token"])
    assert [op for op, _, _ in agent.requests] == ["secret_put", "deploy"]
    (_, put, _), (_, sent, _) = agent.requests
    assert put == {"name": "token", "value": base64.b64encode(VALUE).decode(), "restart": False}
    assert sent is not None and sent["env"] == {"A": "1"} and sent["secrets"] == ["token"]
    assert VALUE not in repr(sent).encode() and put["value"] not in repr(sent)
    assert (data["version"], data["env"], data["secrets"]) == (1, {"A": "1"}, ["token"])
    state = b"".join(p.read_bytes() for p in home.glob("state.db*"))
    assert VALUE not in state and base64.b64encode(VALUE) not in state
    assert core_secrets.users(ctx) == {"token": ["f"]}
    again = core_secrets.set_value(ctx, "token", b"new", restart=True)  # the node holding f gets it
    assert again["nodes"] == {"n1": {"recycled": 0}} and agent.requests[-1][1] == {
        "name": "token", "value": base64.b64encode(b"new").decode(), "restart": True}


def test_an_agent_that_ignores_the_configuration_fails_the_deploy(home: Path) -> None:
    with pytest.raises(AgentError, match="older than this faasctl") as info:
        deploy(home, {"dependencies": "none"}, env={"A": "1"})
    assert "faasctl node upgrade n1" in info.value.hint
    ctx, _, data = deploy(home, {"dependencies": "none"})  # nothing to configure: an older agent is fine
    # the failed deploy recorded nothing, or this would be version 2
    assert data["version"] == 1 and data["env"] == {} and data["secrets"] == []
