"""What a route needs from the app, in a module of its own so routes do not import `app`
(which imports the routes): the CoreRunner the app was built with, and the reads the
seed's routes and /v1 share, which stay on the event loop unless a node must be asked."""

from __future__ import annotations

from typing import Any

from faasctl_agent.protocol import FINAL
from fastapi import Request

from ..core import listing
from ..core.runner import CoreRunner

LIST_REFRESH = 20  # unfinished calls brought up to date per listing
INLINE_ROWS = 100  # a page of calls up to this size is read on the event loop (about 1 ms)
# GET /v1/calls's bounds, shared by its FastAPI route (v1.py) and its hot path (hot.py)
CALLS_FUNCTION_MAX = 63
CALLS_LIMIT = (50, 1000)  # default, most


def core_of(request: Request) -> CoreRunner:
    runner: CoreRunner = request.app.state.core
    return runner


async def one_call(core: CoreRunner, call_num: int) -> dict[str, Any]:
    """A call; read on the event loop, unless it is unfinished on a node (then refreshed from
    it in a core thread)."""
    record = core.read(listing.get_call, call_num, refresh=False)
    if record["status"] in FINAL or not record["node"]:
        return record
    return await core(listing.get_call, call_num)


async def page_of_calls(core: CoreRunner, function: str, status: str, limit: int | None) -> list[dict[str, Any]]:
    """Newest calls first; on the event loop unless the page is large or some unfinished
    calls must first be brought up to date from their nodes (a core thread does that)."""
    if limit is not None and limit <= INLINE_ROWS:
        page = core.read(listing.page_as_is, function, status, limit, LIST_REFRESH)
        if page is not None:
            return page
    return await core(listing.list_calls, function, status, limit, refresh=LIST_REFRESH)
