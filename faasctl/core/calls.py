"""Calls: listing, getting (refreshed from the agent while unfinished), waiting, logs,
and following (`call list --follow`, the dashboard's tail): calls as they finish."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from faasctl_agent.protocol import FINAL
from sqlmodel import select

from ..errors import CallTimedOut, InvalidInput
from ..state.db import transaction
from ..state.models import Call
from . import listing
from .callview import call_view
from .context import Context


def _row(call: Call) -> dict[str, Any]:
    return call_view(call.model_dump())


# Listing and getting read with plain sqlite3 (listing.py); these names stay for callers.
list_calls, refresh_unfinished, get = listing.list_calls, listing.refresh_unfinished, listing.get_call


def wait(ctx: Context, call_num: int, timeout: float = 60.0, interval: float = 0.1) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = get(ctx, call_num)
        if record["status"] in FINAL:
            return record
        if time.monotonic() > deadline:
            raise CallTimedOut(f"call {call_num} is still {record['status']} after {timeout:g} s",
                               f"wait longer: faasctl call wait {call_num} --timeout 300")
        time.sleep(interval)
        interval = min(interval * 1.5, 1.0)


def logs(ctx: Context, call_num: int) -> str:
    get(ctx, call_num)
    with transaction(ctx.engine) as s:
        call = s.get(Call, call_num)
        return call.log if call else ""


@dataclass(frozen=True)
class Cursor:
    """Where a follower is: every call up to `after` was looked at, and `waiting` holds
    those among them that were not finished then (they are reported when they finish)."""

    after: int = 0
    waiting: frozenset[int] = field(default_factory=frozenset)


def cursor_now(ctx: Context, function: str = "") -> Cursor:
    """A cursor at the newest call: what finishes from now on is new (so are unfinished calls)."""
    with transaction(ctx.engine) as s:
        last = int(s.exec(select(Call.call_num).order_by(Call.call_num.desc()).limit(1)).first() or 0)  # type: ignore[union-attr]
        # only up to `last`: a call made between the two reads is new, and must not be both
        query = select(Call.call_num).where(Call.status.not_in(FINAL), Call.call_num <= last)  # type: ignore[attr-defined,operator]
        if function:
            query = query.where(Call.func_name == function)
        return Cursor(last, frozenset(int(n or 0) for n in s.exec(query)))


def finished_since(ctx: Context, cursor: Cursor, function: str = "", status: str = "",
                   chunk: int = 500) -> tuple[list[dict[str, Any]], Cursor]:
    """Calls that finished since `cursor` (oldest number first), and the cursor to ask with next.

    Only indexes the table has are used: the call number (new calls are those above
    `after`; the waiting ones are looked up by number) and the function name, so a poll
    costs the same on a file of a million calls. `status` filters what is returned, not
    what is tracked."""
    wanted = status.upper()
    seen: list[Call] = []
    with transaction(ctx.engine) as s:
        query = select(Call).where(Call.call_num > cursor.after).order_by(Call.call_num)  # type: ignore[arg-type,operator]
        if function:
            query = query.where(Call.func_name == function)
        fresh = list(s.exec(query.limit(chunk)))
        waiting = sorted(cursor.waiting)
        for start in range(0, len(waiting), chunk):
            part = waiting[start:start + chunk]
            seen.extend(s.exec(select(Call).where(Call.call_num.in_(part))))  # type: ignore[union-attr]
    seen.extend(fresh)
    done = sorted((c for c in seen if c.status in FINAL), key=lambda c: c.call_num or 0)
    still = frozenset(int(c.call_num or 0) for c in seen if c.status not in FINAL)
    after = max([cursor.after, *(int(c.call_num or 0) for c in fresh)])
    return [_row(c) for c in done if not wanted or c.status == wanted], Cursor(after, still)


def finished(record: dict[str, Any]) -> bool:
    """True for a call record (call_view's shape) in a final status."""
    return record["status"] in FINAL


def follow(ctx: Context, function: str = "", status: str = "", interval: float = 0.5,
           refresh_every: float = 2.0, refresh_budget: int = 20,
           cursor: Cursor | None = None) -> Iterator[dict[str, Any]]:
    """Calls as they finish, from `cursor` (default: now) on, until the caller stops iterating.

    Every `interval` the state file is asked (`finished_since`); every `refresh_every`
    up to `refresh_budget` unfinished async calls are brought up to date from their
    agents, since nobody else may be polling them. Sync calls are recorded by whoever
    made them. A status that is not final is refused here, before anything is listed."""
    wanted = status.upper()
    if wanted and wanted not in FINAL:
        raise InvalidInput(f"calls with status {wanted} never finish, so none would be followed",
                           f"follow a final status ({', '.join(FINAL)}) or leave out --status")
    return _follow(ctx, function, wanted, interval, refresh_every, refresh_budget,
                   cursor or cursor_now(ctx, function))


def _follow(ctx: Context, function: str, status: str, interval: float, refresh_every: float,
            refresh_budget: int, cursor: Cursor) -> Iterator[dict[str, Any]]:
    next_refresh = time.monotonic() + refresh_every
    while True:
        rows, cursor = finished_since(ctx, cursor, function, status)
        yield from rows
        if cursor.waiting and time.monotonic() >= next_refresh:
            refresh_unfinished(ctx, function, refresh_budget, only_async=True)
            next_refresh = time.monotonic() + refresh_every
            continue  # what the refresh finished is shown now, not after another interval
        time.sleep(interval)
