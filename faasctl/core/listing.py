"""What the read-only commands show (`fn list`, `runtime list`, `call list`, `call get`),
read with plain sqlite3 (state/reads.py), never the ORM.

Why: importing sqlmodel and SQLAlchemy costs about 0.4 s, which is most of such a
command. And each read here costs the same on a file of a million calls: counts come
from the per-function aggregates (state/aggregates.py), percentiles from the newest
`WINDOW` calls through the func_name index, unfinished calls through the status index.
The ORM views (core/calls.py, functions.py, runtimes.py, the API) return these too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from faasctl_agent.protocol import FAILED, FINAL, STATUSES

from ..errors import FaasctlError, NotFound
from ..state import aggregates, fastpath, reads
from . import callview
from .callview import call_view
from .context import Context

WINDOW = 1000  # p50 and p99 of a function are those of its newest 1,000 timed calls
UNFINISHED = tuple(s for s in STATUSES if s not in FINAL)  # IN (...) can use the status index; NOT IN cannot


def all_runtimes(ctx: Context) -> list[dict[str, Any]]:
    return reads.select(ctx.reader, "runtime", order="name")


def names(ctx: Context, table: str) -> list[str]:
    """The names of every runtime or function (the seed's two listings): one indexed column."""
    if table not in ("runtime", "function"):
        raise ValueError(table)
    return [name for (name,) in ctx.reader.execute(f"SELECT name FROM {table} ORDER BY name")]


def all_nodes(ctx: Context) -> list[dict[str, Any]]:
    return reads.select(ctx.reader, "node", order="name")


def node_status(ctx: Context, node: dict[str, Any], timeout: float = 2.0) -> dict[str, Any]:
    """Live view of one node; an unreachable node is reported, not raised. (nodes.status
    says the same; this module cannot import nodes, which imports the ORM.)"""
    try:
        data = ctx.client(node).request("status", timeout=timeout)
        return {"name": node["name"], "up": True, **data}
    except FaasctlError as exc:
        return {"name": node["name"], "up": False, "error": exc.message}


def function_row(data: dict[str, Any]) -> dict[str, Any]:
    """A function as commands and the API show it: its columns plus the seed's two names."""
    return {**data, "functionName": data["name"], "runtimeName": data["runtime_name"]}


def function_kind(ctx: Context, name: str) -> str:
    """A function's kind (serve's /function route asks it per request: no ORM session)."""
    rows = reads.select(ctx.reader, "function", "name = ?", (name,))
    if not rows:
        raise NotFound(f"no function named {name!r}", "see `faasctl fn list`, or deploy it with `faasctl fn deploy`")
    return str(rows[0]["kind"])


def all_functions(ctx: Context, live: bool = False) -> list[dict[str, Any]]:
    """Each function with its call counts and latency percentiles from the state, and with
    `live`, its warm containers per node as the agents report them now."""
    conn = ctx.reader
    with reads.snapshot(conn):
        rows = [function_row(f) for f in reads.select(conn, "function", order="name")]
        for row in rows:
            counts = aggregates.counts(conn, row["name"])
            row["calls"] = sum(counts.values())
            row["errors"] = sum(v for k, v in counts.items() if k in FAILED)
            times = sorted(t for (t,) in conn.execute(
                "SELECT run_ms FROM call WHERE func_name = ? AND run_ms IS NOT NULL ORDER BY call_num DESC LIMIT ?",
                (row["name"], WINDOW)))
            row["p50_ms"] = percentile(times, 0.5)
            row["p99_ms"] = percentile(times, 0.99)
            row["nodes"] = [n for (n,) in conn.execute(
                "SELECT node_name FROM deployment WHERE function_name = ? ORDER BY node_name", (row["name"],))]
    if live:
        warm = {n["name"]: node_status(ctx, n).get("warm", {}) for n in all_nodes(ctx)}
        for row in rows:
            row["warm"] = {node: warm.get(node, {}).get(row["name"], 0) for node in row["nodes"]}
    return rows


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest rank: the value at index int(q * n) of the sorted values."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def list_calls(ctx: Context, function: str = "", status: str = "", limit: int | None = 50,
               refresh: int = 0) -> list[dict[str, Any]]:
    """Newest first; `limit=None` for all. `refresh=N` first updates up to N unfinished calls."""
    if refresh:
        refresh_unfinished(ctx, function, refresh)
    return callview.views(reads.newest_calls(ctx.reader, callview.COLUMNS, function, status.upper(), limit))


def page_as_is(ctx: Context, function: str, status: str, limit: int, budget: int,
               loads: Callable[[str], Any] = json.loads) -> list[dict[str, Any]] | None:
    """`list_calls(..., refresh=budget)` read from the state alone, or None when a refresh
    could change it: an unfinished call a node holds is on the page or, with `status`, among
    the `budget` newest (it may have ended in that status). Without `status`, unfinished
    calls older than the page cannot change it, so the page itself is the check: one read."""
    if status and unfinished(ctx, function, budget):
        return None
    page = callview.views(reads.newest_calls(ctx.reader, callview.COLUMNS, function, status.upper(), limit), loads)
    if not status and any(view["node"] and view["status"] not in FINAL for view in page):
        return None
    return page


def refresh_unfinished(ctx: Context, function: str = "", budget: int = 20, only_async: bool = False) -> None:
    """Bring the newest unfinished calls up to date from their agents (the API's listings
    show async calls nobody polled). A node that fails a hello is not asked again.
    `only_async` leaves sync calls to the process waiting for them, which records them."""
    conn = ctx.reader
    pending = unfinished(ctx, function, budget, only_async)
    if not pending:
        return
    names = sorted({node for _, node in pending})
    held = {n["name"]: n for n in reads.select(conn, "node", f"name IN ({', '.join('?' * len(names))})", names)}
    alive: dict[str, bool] = {}
    for call_num, node_name in pending:
        if node_name in held and node_name not in alive:
            try:
                ctx.client(held[node_name]).request("hello", timeout=2.0)
                alive[node_name] = True
            except FaasctlError:
                alive[node_name] = False
        if alive.get(node_name):
            get_call(ctx, int(call_num or 0))


def unfinished(ctx: Context, function: str = "", budget: int = 20, only_async: bool = False) -> list[Any]:
    """(call_num, node) of the newest unfinished calls a node holds: those a listing refreshes.
    Through the status index, so it costs the same on a file of a million calls."""
    sql = f"SELECT call_num, node FROM call WHERE status IN ({', '.join('?' * len(UNFINISHED))}) AND node != ''"
    params: list[Any] = list(UNFINISHED)
    if function:
        sql, params = sql + " AND func_name = ?", [*params, function]
    if only_async:
        sql, params = sql + " AND is_async = ?", [*params, True]  # a boolean on PostgreSQL, 1 in SQLite
    return ctx.reader.execute(sql + " ORDER BY call_num DESC LIMIT ?", (*params, budget)).fetchall()


def get_call(ctx: Context, call_num: int, refresh: bool = True) -> dict[str, Any]:
    """One call; while unfinished, first brought up to date from the node that holds it."""
    conn = ctx.reader
    with reads.snapshot(conn):
        found = reads.select(conn, "call", "call_num = ?", (call_num,))
        if not found:
            raise NotFound(f"no call number {call_num}", "see `faasctl call list`")
        row = found[0]
        node = reads.select(conn, "node", "name = ?", (row["node"],)) if row["node"] else []
    if refresh and row["status"] not in FINAL and node:
        row = _refresh(ctx, row, node[0])
    return call_view(row)


REMOTE_FIELDS = ("status", "result", "error", "log", "start_kind", "queue_ms", "start_ms", "run_ms", "finished_at")


def _refresh(ctx: Context, row: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Bring an unfinished call's state back from the agent that holds it."""
    try:
        remote = ctx.client(node).request("call", {"call_id": row["uid"]}, timeout=5)
    except NotFound:
        remote = {"status": "LOST", "error": f"node {node['name']} has no record of this call"}
    except FaasctlError:
        return row  # unreachable now: keep what we know
    changes = {k: remote[k] for k in REMOTE_FIELDS if k in remote}
    if changes:  # through the process's one writer: in serve, beside its invocations' records
        ctx.records.run(lambda c: fastpath.set_call(c, int(row["call_num"]), changes), durable=True)
    return {**row, **changes}
