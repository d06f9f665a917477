"""`calls.finished_since`, the query behind `call list --follow`: new calls once they
finish, calls unfinished before the cursor once they finish, each exactly once, with the
function and status filters. A real SQLite file and a real PostgreSQL database (`backend`);
calls are written as invoke writes them."""

from __future__ import annotations

import time

import pytest

from faasctl.core import calls
from faasctl.core.context import Context
from faasctl.errors import InvalidInput
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Call
from tests.support.backends import Backend


def make_ctx(backend: Backend) -> Context:
    open_engine(backend.path, backend.url).dispose()
    return Context(backend.settings())


def add(ctx: Context, func: str, status: str = "PENDING", is_async: bool = False) -> int:
    with transaction(ctx.engine) as s:
        call = Call(uid=f"u{time.monotonic_ns()}", func_name=func, status=status, is_async=is_async,
                    finished_at=time.time() if status != "PENDING" else None)
        s.add(call)
        s.flush()
        return int(call.call_num or 0)


def finish(ctx: Context, num: int, status: str = "DONE") -> None:
    with transaction(ctx.engine) as s:
        call = s.get(Call, num)
        assert call is not None
        call.status, call.finished_at = status, time.time()
        s.add(call)


def nums(rows: list[dict[str, object]]) -> list[object]:
    return [r["callNum"] for r in rows]


def test_new_calls_show_once_when_they_finish(backend: Backend) -> None:
    ctx = make_ctx(backend)
    add(ctx, "dice", "DONE")  # before the cursor: never reported
    cursor = calls.cursor_now(ctx)
    assert calls.finished_since(ctx, cursor)[0] == []
    a, b = add(ctx, "dice"), add(ctx, "dice", "DONE")
    rows, cursor = calls.finished_since(ctx, cursor)
    assert nums(rows) == [b] and cursor.waiting == {a} and cursor.after == b
    assert calls.finished_since(ctx, cursor)[0] == []  # nothing changed: nothing reported
    finish(ctx, a, "ERROR")
    rows, cursor = calls.finished_since(ctx, cursor)
    assert nums(rows) == [a] and rows[0]["status"] == "ERROR" and cursor.waiting == frozenset()
    assert calls.finished_since(ctx, cursor)[0] == []


def test_calls_unfinished_at_the_start_are_reported_when_they_finish(backend: Backend) -> None:
    ctx = make_ctx(backend)
    old = add(ctx, "dice", is_async=True)
    cursor = calls.cursor_now(ctx)
    assert cursor.waiting == {old}
    finish(ctx, old)
    rows, cursor = calls.finished_since(ctx, cursor)
    assert nums(rows) == [old] and rows[0]["async"] is True and not cursor.waiting


def test_function_and_status_filters(backend: Backend) -> None:
    ctx = make_ctx(backend)
    cursor = calls.cursor_now(ctx, "dice")
    add(ctx, "other", "DONE")
    ok, bad = add(ctx, "dice", "DONE"), add(ctx, "dice", "ERROR")
    assert nums(calls.finished_since(ctx, cursor, "dice")[0]) == [ok, bad]
    assert nums(calls.finished_since(ctx, cursor, "dice", "error")[0]) == [bad]


def test_many_new_calls_arrive_in_chunks_without_loss(backend: Backend) -> None:
    ctx = make_ctx(backend)
    cursor = calls.cursor_now(ctx)
    made = [add(ctx, "dice", "DONE") for _ in range(7)]
    seen: list[object] = []
    for _ in range(10):  # bounded: 7 calls in chunks of 3 need 3 polls
        rows, cursor = calls.finished_since(ctx, cursor, chunk=3)
        seen += nums(rows)
    assert seen == made


def test_follow_refuses_a_status_that_never_finishes(backend: Backend) -> None:
    ctx = make_ctx(backend)
    with pytest.raises(InvalidInput) as caught:
        calls.follow(ctx, status="pending")
    assert "PENDING" in caught.value.message and "DONE" in caught.value.hint


def test_follow_yields_what_finishes(backend: Backend) -> None:
    ctx = make_ctx(backend)
    stream = calls.follow(ctx, interval=0.01)
    num = add(ctx, "dice", "TIMEOUT")
    assert next(stream)["callNum"] == num
