"""The reads serve answers on its event loop (CoreRunner.read, api/deps.py): the seed's name
lists and the check for unfinished calls give what the full views give, and the read runs
on the calling thread with a Context of its own, never a core thread's. On SQLite and
PostgreSQL (`backend`)."""

from __future__ import annotations

import asyncio
import threading

from faasctl.core import listing
from faasctl.core.context import Context
from faasctl.core.runner import CoreRunner
from faasctl.state.db import transaction
from faasctl.state.models import Call, Function, Runtime
from tests.support.backends import Backend


def _state(backend: Backend) -> Context:
    ctx = Context(backend.settings())
    with transaction(ctx.engine) as s:
        for rt in ("zeta", "python", "node"):
            s.add(Runtime(name=rt, image="img"))
    with transaction(ctx.engine) as s:
        for name in ("b", "a", "c"):
            s.add(Function(name=name, runtime_name="python", version=1, digest="d" * 64))
        for i, (fn, status, node) in enumerate([("a", "DONE", "n1"), ("a", "PENDING", "n1"), ("b", "RUNNING", "n2"),
                                                 ("b", "PENDING", ""), ("c", "ERROR", "n1")]):
            s.add(Call(uid=f"u{i}", func_name=fn, status=status, node=node, params="{}"))
    return ctx


def test_names_are_those_of_the_full_listings(backend: Backend) -> None:
    ctx = _state(backend)
    assert listing.names(ctx, "runtime") == [r["name"] for r in listing.all_runtimes(ctx)] == ["node", "python", "zeta"]
    assert listing.names(ctx, "function") == [f["name"] for f in listing.all_functions(ctx)] == ["a", "b", "c"]


def test_unfinished_lists_only_calls_a_node_holds_newest_first(backend: Backend) -> None:
    ctx = _state(backend)
    assert [tuple(r) for r in listing.unfinished(ctx)] == [(3, "n2"), (2, "n1")]  # call 4 has no node yet
    assert [tuple(r) for r in listing.unfinished(ctx, "a")] == [(2, "n1")]
    assert listing.unfinished(ctx, "c") == []


def test_read_runs_on_the_loop_thread_with_its_own_context(backend: Backend) -> None:
    _state(backend)
    runner = CoreRunner(Context(backend.settings()), threads=2)

    async def both() -> tuple[tuple[int, Context], tuple[int, Context]]:
        here = runner.read(lambda ctx: (threading.get_ident(), ctx))
        there = await runner(lambda ctx: (threading.get_ident(), ctx))
        return here, there

    try:
        (here_thread, here_ctx), (there_thread, there_ctx) = asyncio.run(both())
        assert here_thread == threading.get_ident() != there_thread
        assert here_ctx is not there_ctx and here_ctx is runner.read(lambda ctx: ctx)
        assert runner.read(listing.names, "function") == ["a", "b", "c"]
    finally:
        runner.close()
