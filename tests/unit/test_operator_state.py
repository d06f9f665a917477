"""The operator table's rules on a real state file with no node: who "you" are, idempotent
add, conflicts, the own key kept, and a push that always carries its sender; on SQLite
and on PostgreSQL (`backend`)."""

from __future__ import annotations

import pytest
import zmq
from sqlmodel import delete

from faasctl.config import Settings
from faasctl.core import operators
from faasctl.core.context import Context
from faasctl.errors import Conflict, NotFound
from faasctl.state.db import transaction
from faasctl.state.models import Operator
from tests.support.backends import Backend


@pytest.fixture()
def ctx(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("FAASCTL_OPERATOR", "alice")
    return Context(backend.settings())


def key() -> str:
    return zmq.curve_keypair()[0].decode()


def test_you_are_listed_under_faasctl_operator(ctx: Context) -> None:
    listed = operators.listing(ctx)
    assert listed["node_count"] == 0 and listed["out_of_step"] == []
    assert [(r["name"], r["you"], r["public_key"]) for r in listed["operators"]] == [
        ("alice", True, ctx.identity()["public"])]


def test_add_is_idempotent_and_refuses_a_name_or_key_used_otherwise(ctx: Context) -> None:
    bob = key()
    assert operators.add(ctx, "bob", bob)["changed"] is True
    assert operators.add(ctx, "bob", f" {bob}\n")["changed"] is False
    with pytest.raises(Conflict, match="exists with another key"):
        operators.add(ctx, "bob", key())
    with pytest.raises(Conflict, match="operator bob's already"):
        operators.add(ctx, "carol", bob)
    with pytest.raises(Conflict, match="lock you out"):
        operators.remove(ctx, "alice")
    with pytest.raises(NotFound):
        operators.remove(ctx, "nobody")
    assert operators.remove(ctx, "bob") == {"name": "bob", "nodes": {}}
    assert [r["name"] for r in operators.listing(ctx)["operators"]] == ["alice"]


def test_a_push_carries_its_sender_even_when_the_state_lacks_it(ctx: Context) -> None:
    operators.add(ctx, "bob", key())
    with transaction(ctx.engine) as s:
        s.exec(delete(Operator).where(Operator.name == "alice"))  # type: ignore[call-overload]
    operators.push(ctx, [])
    assert operators.wanted(ctx)["alice"] == ctx.identity()["public"]


def test_your_name_taken_by_another_key_asks_you_to_name_yourself(ctx: Context,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    operators.add(ctx, "bob", key())
    monkeypatch.setenv("FAASCTL_OPERATOR", "bob")
    other = Context(Settings(home=ctx.settings.home.parent / "other", state_url=ctx.settings.state_url))
    other.__dict__["engine"] = ctx.engine  # the same state, another key pair
    with pytest.raises(Conflict) as caught:
        operators.listing(other)
    assert "FAASCTL_OPERATOR" in caught.value.hint
