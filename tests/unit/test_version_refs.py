"""Issue 14's rules without nodes: NAME@N / NAME@ALIAS, alias names, which versions nodes
keep, and how the invoke fast path picks a version (aliases, canaries) and its holders,
on a real state written through the ORM: a SQLite file and a PostgreSQL database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from faasctl.config import Settings
from faasctl.core.context import Context
from faasctl.core.names import check_alias, parse_ref
from faasctl.core.versionsync import keep_set
from faasctl.errors import InvalidInput, NotFound
from faasctl.state import fastpath
from faasctl.state.db import transaction
from faasctl.state.models import (
    Deployment,
    Function,
    FunctionAlias,
    FunctionVersion,
    Node,
    NodeVersion,
    Runtime,
)
from tests.support.backends import Backend

D = {v: f"{v}" * 64 for v in (1, 2, 3)}


def test_refs() -> None:
    assert parse_ref("dice") == ("dice", 0, "")
    assert parse_ref("dice@3") == ("dice", 3, "")
    assert parse_ref("dice@live") == ("dice", 0, "live")
    assert parse_ref("dice@beta-2") == ("dice", 0, "beta-2")
    for bad in ("dice@", "dice@0", "dice@Live", "dice@-x", "Dice@1", "dice@1@2", "dice@" + "a" * 41, "dice@٣"):
        with pytest.raises(InvalidInput):
            parse_ref(bad)
    with pytest.raises(InvalidInput):
        check_alias("3")  # a number reads as a version


def test_keep_set() -> None:
    assert keep_set([1, 2, 3, 4, 5, 6, 7], 7, set(), 5) == {3, 4, 5, 6, 7}
    assert keep_set([1, 2, 3, 4, 5, 6, 7], 1, {2}, 2) == {6, 7, 1, 2}  # rolled back to 1; an alias names 2
    assert keep_set([1], 1, set(), 0) == {1}


@pytest.fixture()
def ctx(backend: Backend) -> Context:
    ctx = Context(backend.settings())
    with transaction(ctx.engine) as s:
        s.add(Runtime(name="python", image="img"))
    with transaction(ctx.engine) as s:
        for n in ("n1", "n2"):
            s.add(Node(name=n, zmq_endpoint=f"tcp://127.0.0.1:{9000 + int(n[1])}", server_key="k"))
        s.add(Function(name="dice", runtime_name="python", version=3, digest=D[3], kind="native",
                       policy={"timeout": 9.0}))
        for v in (1, 2, 3):
            s.add(FunctionVersion(function_name="dice", version=v, digest=D[v], kind="command" if v == 1 else "native",
                                  runtime_name="python", policy={"timeout": float(v)}))
        s.add(Deployment(function_name="dice", node_name="n1", digest=D[3], version=3))
        s.add(Deployment(function_name="dice", node_name="n2", digest=D[2], version=2))  # out of date
        s.add(NodeVersion(function_name="dice", node_name="n1", version=1, digest=D[1]))
    return ctx


def pick(ctx: Context, version: int = 0, alias: str = "", draw: float = 0.5) -> dict[str, object]:
    t = fastpath.target(ctx.fast, "dice", version, alias, draw=lambda: draw)
    fn = t["function"]
    return {"version": fn["version"], "digest": fn["digest"], "kind": fn["kind"], "alias": fn["alias"],
            "policy": fn["policy"], "nodes": [n["name"] for n in t["nodes"]]}


def test_plain_call_gets_the_current_version_then_follows_live(ctx: Context) -> None:
    assert pick(ctx) == {"version": 3, "digest": D[3], "kind": "native", "alias": "", "policy": '{"timeout": 9.0}',
                         "nodes": ["n1"]}
    with transaction(ctx.engine) as s:
        s.add(FunctionAlias(function_name="dice", name="live", version=2, canary_version=3, canary_weight=0.2))
    live = pick(ctx, draw=0.5)
    assert (live["version"], live["alias"], live["nodes"], live["policy"]) == (2, "live", ["n2"], '{"timeout": 2.0}')
    assert pick(ctx, draw=0.19)["version"] == 3  # the canary's share of the draws
    assert pick(ctx, draw=0.2)["version"] == 2


def test_a_version_or_alias_by_name(ctx: Context) -> None:
    one = pick(ctx, version=1)
    assert (one["digest"], one["kind"], one["nodes"], one["alias"]) == (D[1], "command", ["n1"], "")
    with transaction(ctx.engine) as s:
        s.add(FunctionAlias(function_name="dice", name="beta", version=1))
    assert pick(ctx, alias="beta")["version"] == 1 and pick(ctx, alias="beta")["alias"] == "beta"
    assert pick(ctx)["version"] == 3  # beta is not live
    with pytest.raises(NotFound, match="no version 7"):
        pick(ctx, version=7)
    with pytest.raises(NotFound, match="no alias 'gamma'"):
        pick(ctx, alias="gamma")


def test_the_call_record_keeps_version_and_alias(ctx: Context) -> None:
    with transaction(ctx.engine) as s:
        s.add(FunctionAlias(function_name="dice", name="live", version=2))
    fn = fastpath.target(ctx.fast, "dice")["function"]
    num = fastpath.insert_call(ctx.fast, "u1", fn, {"a": 1}, False)
    row = ctx.fast.execute("SELECT version, alias FROM call WHERE call_num=?", (num,)).fetchone()
    assert tuple(row) == (2, "live")


def test_a_file_from_before_versions_serves_the_current_one(ctx: Context, tmp_path: Path) -> None:
    if ctx.settings.state_url:
        return  # about SQLite files an older faasctl made; a database is always made at the head
    path = ctx.settings.state_path
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE function_alias; DROP TABLE node_version;")
    conn.close()
    fresh = Context(Settings(home=path.parent))
    t = fastpath.target(fresh.fast, "dice")
    assert t["function"]["version"] == 3 and [n["name"] for n in t["nodes"]] == ["n1"]
