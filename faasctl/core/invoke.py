"""Invoking a function: place the call, record it, run it on the chosen node.

This is the hot path of both `faasctl invoke` and `serve`, so it reads and writes the
state through `state.fastpath` (plain sqlite3) and never imports the ORM. A node that
does not answer a short hello is skipped before the call is handed over; once a node
has the call, a lost reply is reported (LOST), never retried elsewhere.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ..errors import CallTimedOut, FaasctlError, FunctionFailed, InvalidInput, NodeUnreachable, NotDelivered, NotFound
from ..state import fastpath
from . import placement
from .context import Context

CONNECT_TIMEOUT = 2.0


def check_params(params: Any) -> Any:
    """Refuse what JSON cannot carry (NaN, lone surrogates) before a call is recorded."""
    try:
        json.dumps(params, allow_nan=False, ensure_ascii=False).encode()
    except (ValueError, TypeError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidInput(f"params are not valid JSON: {exc}", 'send a JSON value such as {"roll": "4d6"}') from exc
    return params


def invoke(ctx: Context, name: str, params: Any, *, is_async: bool = False, node: str = "",
           retries: int = 0, raise_on_failure: bool = False) -> dict[str, Any]:
    check_params(params)
    conn = ctx.fast
    target = fastpath.target(conn, name)
    fn, identity = target["function"], target["identity"]
    candidates = _candidates(ctx, fn, target["nodes"], node)
    policy = json.loads(fn["policy"] or "{}")
    timeout = float(policy.get("timeout", 30.0))
    uid = os.urandom(12).hex()
    call_num = fastpath.insert_call(conn, uid, fn, params, is_async)
    args = {"call_id": uid, "function": name, "digest": fn["digest"], "params": params, "async": is_async,
            "retries": retries}
    reply, chosen = None, None
    for cand in candidates:
        try:
            reply = ctx.client(cand, identity).request("invoke", args, timeout=10.0 if is_async else timeout + 15.0,
                                                       connect_timeout=CONNECT_TIMEOUT)
        except NotDelivered:
            continue  # never reached this node: the next one may take the call
        except NodeUnreachable as exc:
            _fail(conn, call_num, "LOST", cand["name"], exc.message)
            raise
        except FaasctlError as exc:
            _fail(conn, call_num, "ERROR", cand["name"], exc.message)
            raise
        chosen = cand
        break
    if reply is None or chosen is None:
        names = ", ".join(c["name"] for c in candidates)
        _fail(conn, call_num, "ERROR", "", f"no node holding {name} answered ({names})")
        raise NodeUnreachable(f"no node holding {name} answered ({names})", "check them with `faasctl node list`")
    values = {"node": chosen["name"], **{k: reply[k] for k in fastpath.CALL_RESULT_FIELDS if k in reply}}
    fastpath.update_call(conn, call_num, values)
    # params go in as stored (JSON text), so a string param is not mistaken for stored JSON
    record = call_view({"call_num": call_num, "func_name": name, "params": json.dumps(params),
                        "is_async": is_async, "version": fn["version"], "status": "PENDING",
                        "created_at": reply.get("accepted_at"), **values})
    if raise_on_failure:
        check_outcome(record)
    return record


def _fail(conn: Any, call_num: int, status: str, node: str, error: str) -> None:
    fastpath.update_call(conn, call_num, {"status": status, "node": node, "error": error, "finished_at": time.time()})


def _candidates(ctx: Context, fn: dict[str, Any], holders: list[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    if not holders:
        raise NotFound(f"function {fn['name']} is not deployed on any node", "deploy it again: faasctl fn deploy")
    for h in holders:
        h["labels"] = json.loads(h.get("labels") or "{}")
    if node:
        picked = [h for h in holders if h["name"] == node]
        if not picked:
            raise NotFound(f"function {fn['name']} is not deployed on node {node}",
                           f"it is on: {', '.join(h['name'] for h in holders)}")
        return picked
    policy = fn["placement"] or "round-robin"
    pinned = json.loads(fn["pinned"] or "[]")
    if pinned:
        holders = placement.pinned_nodes(holders, pinned)
    if policy in ("least-loaded", "warm-first") and len(holders) > 1:
        loads, warm = {}, {}
        for h in holders:
            try:
                st = ctx.client(h).request("status", timeout=CONNECT_TIMEOUT)
            except FaasctlError:
                continue
            loads[h["name"]] = st["running"] / max(1, st["cpus"])
            warm[h["name"]] = int(st["warm"].get(fn["name"], 0))
        return placement.order(policy, holders, function=fn["name"], loads=loads, warm=warm)
    last = ctx.fast.execute("SELECT node FROM call WHERE func_name=? AND node != '' ORDER BY call_num DESC LIMIT 1",
                            (fn["name"],)).fetchone()
    return placement.order(policy, holders, last=last[0] if last else "", function=fn["name"])


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
        "version": row.get("version"), "async": bool(row.get("is_async")),
        "createdAt": row.get("created_at"), "finishedAt": row.get("finished_at"),
    }


def check_outcome(record: dict[str, Any]) -> None:
    if record["status"] == "ERROR":
        raise FunctionFailed(f"call {record['callNum']} failed: {record['error'].strip().splitlines()[-1:] or ''}",
                             f"see `faasctl logs {record['callNum']}` and `faasctl call get {record['callNum']}`")
    if record["status"] == "TIMEOUT":
        raise CallTimedOut(f"call {record['callNum']} timed out: {record['error']}",
                           "raise the limit with `faasctl fn deploy ... --timeout SECONDS`")
