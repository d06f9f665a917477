"""A call record as commands and the API show it (JSON), from a row of the call table.

Its own module so that `call list` and `call get` (core/listing.py) show calls without
importing the invoke path (health, placement, logging).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

# The view's keys and the call columns they come from, in the view's order (CallOut's).
VIEW_COLUMNS = (("funcName", "func_name"), ("params", "params"), ("callNum", "call_num"), ("status", "status"),
                ("result", "result"), ("error", "error"), ("node", "node"), ("startKind", "start_kind"),
                ("queueMs", "queue_ms"), ("startMs", "start_ms"), ("runMs", "run_ms"), ("version", "version"),
                ("alias", "alias"), ("async", "is_async"), ("createdAt", "created_at"),
                ("finishedAt", "finished_at"))
KEYS = tuple(key for key, _ in VIEW_COLUMNS)
COLUMNS = tuple(column for _, column in VIEW_COLUMNS)


def call_view(row: dict[str, Any]) -> dict[str, Any]:
    """A call as JSON: the seed's five fields first, then what faasctl adds."""
    params = row.get("params")
    if isinstance(params, str):
        params = json.loads(params)
    return {
        "funcName": row["func_name"], "params": params, "callNum": row["call_num"],
        "status": row["status"], "result": row.get("result") or "",
        "error": row.get("error") or "", "node": row.get("node") or "", "startKind": row.get("start_kind") or "",
        "queueMs": row.get("queue_ms"), "startMs": row.get("start_ms"), "runMs": row.get("run_ms"),
        "version": row.get("version"), "alias": row.get("alias") or "", "async": bool(row.get("is_async")),
        "createdAt": row.get("created_at"), "finishedAt": row.get("finished_at"),
    }


def views(rows: Sequence[Sequence[Any]], loads: Callable[[str], Any] = json.loads) -> list[dict[str, Any]]:
    """`call_view` of rows selected as `COLUMNS` (state/reads.newest_calls): the same dicts
    (the text columns are NOT NULL), with no dict per row before them: a page of calls is
    serve's hottest read (it passes pydantic_core's `from_json`, which the CLI never imports)."""
    out = []
    for row in rows:
        view = dict(zip(KEYS, row))
        params = view["params"]
        if isinstance(params, str):
            view["params"] = loads(params)
        view["async"] = bool(view["async"])
        out.append(view)
    return out
