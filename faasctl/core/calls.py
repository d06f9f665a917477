"""Calls: listing, getting (refreshed from the agent while unfinished), waiting, logs."""

from __future__ import annotations

import time
from typing import Any

from faasctl_agent.protocol import FINAL
from sqlmodel import select

from ..errors import CallTimedOut, FaasctlError, NotFound
from ..state.db import transaction
from ..state.models import Call, Node
from .context import Context
from .invoke import call_view


def _row(call: Call) -> dict[str, Any]:
    return call_view(call.model_dump())


def list_calls(ctx: Context, function: str = "", status: str = "", limit: int | None = 50,
               refresh: int = 0) -> list[dict[str, Any]]:
    """Newest first; `limit=None` for all. `refresh=N` first updates up to N unfinished calls."""
    if refresh:
        refresh_unfinished(ctx, function, refresh)
    with transaction(ctx.engine) as s:
        query = select(Call).order_by(Call.call_num.desc()).limit(limit)  # type: ignore[union-attr]
        if function:
            query = query.where(Call.func_name == function)
        if status:
            query = query.where(Call.status == status.upper())
        return [_row(c) for c in s.exec(query)]


def refresh_unfinished(ctx: Context, function: str = "", budget: int = 20) -> None:
    """Bring the newest unfinished calls up to date from their agents (the API's listings
    show async calls nobody polled). A node that fails a hello is not asked again."""
    with transaction(ctx.engine) as s:
        query = select(Call.call_num, Call.node).where(Call.status.not_in(FINAL), Call.node != "")  # type: ignore[attr-defined]
        if function:
            query = query.where(Call.func_name == function)
        pending = list(s.exec(query.order_by(Call.call_num.desc()).limit(budget)))  # type: ignore[union-attr]
        names = {node for _, node in pending}
        held = {n.name: n.model_dump() for n in s.exec(select(Node).where(Node.name.in_(names)))}  # type: ignore[attr-defined]
    alive: dict[str, bool] = {}
    for call_num, node_name in pending:
        if node_name in held and node_name not in alive:
            try:
                ctx.client(held[node_name]).request("hello", timeout=2.0)
                alive[node_name] = True
            except FaasctlError:
                alive[node_name] = False
        if alive.get(node_name):
            get(ctx, int(call_num or 0))


def get(ctx: Context, call_num: int, refresh: bool = True) -> dict[str, Any]:
    with transaction(ctx.engine) as s:
        call = s.get(Call, call_num)
        if call is None:
            raise NotFound(f"no call number {call_num}", "see `faasctl call list`")
        node = s.get(Node, call.node) if call.node else None
        row, node_row = call.model_dump(), node.model_dump() if node else None
    if refresh and row["status"] not in FINAL and node_row is not None:
        row = _refresh(ctx, row, node_row)
    return call_view(row)


def _refresh(ctx: Context, row: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Bring an unfinished call's state back from the agent that holds it."""
    try:
        remote = ctx.client(node).request("call", {"call_id": row["uid"]}, timeout=5)
    except NotFound:
        remote = {"status": "LOST", "error": f"node {node['name']} has no record of this call"}
    except FaasctlError:
        return row  # unreachable now: keep what we know
    fields = ("status", "result", "error", "log", "start_kind", "queue_ms", "start_ms", "run_ms", "finished_at")
    changes = {k: remote[k] for k in fields if k in remote}
    with transaction(ctx.engine) as s:
        call = s.get(Call, row["call_num"])
        if call is not None:
            for key, value in changes.items():
                setattr(call, key, value)
            s.add(call)
    return {**row, **changes}


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
