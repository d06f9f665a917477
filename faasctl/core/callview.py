"""A call record as commands and the API show it (JSON), from a row of the call table.

Its own module so that `call list` and `call get` (core/listing.py) show calls without
importing the invoke path (health, placement, logging).
"""

from __future__ import annotations

import json
from typing import Any


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
