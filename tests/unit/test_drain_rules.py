"""Drain in placement: the pure filter, the fast path's join (and a file without the
table), and `_candidates` refusing a drained node by name. Real SQLite files and
PostgreSQL databases (`backend`), no agent: round-robin placement asks no node anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasctl.config import Settings
from faasctl.core import invoke, nodestatus, placement
from faasctl.core.context import Context
from faasctl.errors import Conflict, NotFound
from faasctl.state import fastpath, keyfiles
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Deployment, Function, Node, Runtime
from tests.support.backends import Backend


def make_ctx(home: Path, nodes: tuple[str, ...] = ("n1", "n2", "n3"), url: str = "") -> Context:
    engine = open_engine(home / "state.db", url)
    with transaction(engine) as s:
        s.add(Runtime(name="python", image="img"))
        for name in nodes:
            s.add(Node(name=name, zmq_endpoint="tcp://127.0.0.1:1", server_key="k"))
    with transaction(engine) as s:
        s.add(Function(name="dice", runtime_name="python", version=1, digest="d" * 64))
        for name in nodes:
            s.add(Deployment(function_name="dice", node_name=name, digest="d" * 64, version=1))
    engine.dispose()
    keyfiles.store(home / "keys", {"public": "p", "secret": "s"})
    return Context(Settings(home=home, state_url=url))


def candidates(ctx: Context, node: str = "") -> list[str]:
    target = fastpath.target(ctx.fast, "dice")
    return [c["name"] for c in invoke._candidates(ctx, target["function"], target["nodes"], node)]


def test_in_service_drops_drained_rows_and_keeps_rows_without_the_mark() -> None:
    rows = [{"name": "a", "drained": 0}, {"name": "b", "drained": 1}, {"name": "c"}]
    assert [r["name"] for r in placement.in_service(rows)] == ["a", "c"]
    assert placement.in_service([]) == []


def test_drained_node_gets_no_calls_until_undrained(backend: Backend) -> None:
    ctx = make_ctx(backend.home, url=backend.url)
    assert set(candidates(ctx)) == {"n1", "n2", "n3"}
    assert nodestatus.set_drained(ctx, "n2") is True
    assert nodestatus.set_drained(ctx, "n2") is False  # idempotent
    assert set(nodestatus.drained(ctx)) == {"n2"}
    assert set(candidates(ctx)) == {"n1", "n3"}
    assert nodestatus.set_drained(ctx, "n2", False) is True
    assert nodestatus.set_drained(ctx, "n2", False) is False
    assert set(candidates(ctx)) == {"n1", "n2", "n3"}


def test_asking_for_a_drained_node_is_a_conflict_with_a_hint(backend: Backend) -> None:
    ctx = make_ctx(backend.home, url=backend.url)
    nodestatus.set_drained(ctx, "n1")
    with pytest.raises(Conflict) as caught:
        candidates(ctx, "n1")
    assert "drained" in caught.value.message and "node undrain n1" in caught.value.hint
    assert candidates(ctx, "n2") == ["n2"]


def test_every_node_drained_is_a_conflict(backend: Backend) -> None:
    ctx = make_ctx(backend.home, ("n1",), backend.url)
    nodestatus.set_drained(ctx, "n1")
    with pytest.raises(Conflict) as caught:
        candidates(ctx)
    assert "every node that could run dice is drained (n1)" in caught.value.message


def test_unknown_node_is_not_found(backend: Backend) -> None:
    ctx = make_ctx(backend.home, url=backend.url)
    with pytest.raises(NotFound) as caught:
        nodestatus.set_drained(ctx, "nope")
    assert caught.value.hint


def test_a_state_file_without_the_drain_table_reads_every_node_in_service(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    ctx.fast.execute("DROP TABLE node_drain")
    ctx.fast.execute("DROP TABLE node_health")  # older still: neither optional table
    assert set(candidates(ctx)) == {"n1", "n2", "n3"}
