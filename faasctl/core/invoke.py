"""Invoking a function: place the call, record it, run it on the chosen node.

This is the hot path of both `faasctl invoke` and `serve`, so it reads and writes the
state through `state.fastpath` (plain sqlite3) and never imports the ORM. A node that
did not take a call is skipped for the next one; once a node has the call, a lost
reply is reported (LOST), never retried elsewhere. Nodes that failed before are skipped
while their window lasts (`health`); when it ends, one caller probes them in the
background (in `serve`, its prober does), so callers do not wait on a dead node.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from ..errors import (
    CallTimedOut,
    Conflict,
    FaasctlError,
    FunctionFailed,
    InvalidInput,
    NodeUnreachable,
    NotAuthorised,
    NotDelivered,
    NotFound,
)
from ..state import fastpath
from . import health, placement
from .callview import call_view
from .context import Context
from .names import parse_ref

if TYPE_CHECKING:
    from ..state.groupcommit import GroupCommit

CONNECT_TIMEOUT = 2.0


def check_params(params: Any) -> Any:
    """Refuse what JSON cannot carry (NaN, lone surrogates) before a call is recorded."""
    try:
        json.dumps(params, allow_nan=False, ensure_ascii=False).encode()
    except (ValueError, TypeError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidInput(f"params are not valid JSON: {exc}", 'send a JSON value such as {"roll": "4d6"}') from exc
    return params


def invoke(ctx: Context, name: str, params: Any, *, is_async: bool = False, node: str = "",
           retries: int = 0, raise_on_failure: bool = False, force_probe: bool = False,
           http: dict[str, Any] | None = None) -> dict[str, Any]:
    """`name` may be `NAME@N` (one version) or `NAME@ALIAS`; a plain name follows the `live`
    alias when it exists (core/versions.py). `http`: the HTTP request of serve's
    /function/NAME (api/functions_http.py), sent beside params."""
    check_params(params)
    conn = ctx.fast
    name, version, alias = parse_ref(name)
    target = fastpath.target(conn, name, version, alias)
    fn, identity = target["function"], target["identity"]
    ordered = _candidates(ctx, fn, target["nodes"], node)
    probes: list[health.Probe] = []
    try:
        candidates = ordered if force_probe else _screen(ctx, ordered, identity, probes)
        return _run(ctx, fn, identity, candidates, params, is_async, retries, raise_on_failure, http)
    finally:
        for probe in probes:  # those still running (a hung node) are left: their claim counted them
            probe.settle(conn)


def _screen(ctx: Context, ordered: list[dict[str, Any]], identity: dict[str, str],
            probes: list[health.Probe]) -> list[dict[str, Any]]:
    """The candidates that are not suspect; suspect ones whose window ended are probed.

    Only when no healthy node is left does the caller wait for its probes (at most the
    connect timeout); otherwise they run beside the call. With nothing left it fails at
    once, naming the first suspect node (this is how --node on a down node fails fast).
    """
    now, conn = time.time(), ctx.fast
    usable = [c for c in ordered if not health.suspect(c)]
    background = getattr(ctx, "probe_inline", True)  # serve probes in its own task instead
    for cand in ordered:
        if (health.suspect(cand) and background and float(cand["skip_until"]) <= now
                and health.claim_probe(conn, cand["name"], now)):
            probes.append(health.Probe(cand, ctx.client(cand, identity).endpoint, identity, CONNECT_TIMEOUT))
    if not usable:
        usable = [p.node for p in probes if p.wait(CONNECT_TIMEOUT + 1.0) and p.settle(conn)]
    if not usable:
        down = next(c for c in ordered if health.suspect(c))
        row = conn.execute("SELECT * FROM node_health WHERE node=?", (down["name"],)).fetchone()
        raise NodeUnreachable(health.down_message(down["name"], dict(row) if row else down),
                              "it is skipped until its next probe; to try it now, add --force-probe "
                              f"(or run `faasctl node status {down['name']}`)")
    return usable


def _run(ctx: Context, fn: dict[str, Any], identity: dict[str, str], candidates: list[dict[str, Any]],
         params: Any, is_async: bool, retries: int, raise_on_failure: bool,
         http: dict[str, Any] | None = None) -> dict[str, Any]:
    conn, name = ctx.fast, fn["name"]
    policy = json.loads(fn["policy"] or "{}")
    timeout = float(policy.get("timeout", 30.0))
    uid = os.urandom(12).hex()
    records = ctx.records
    # Committed before the agent can see the call, so a record exists for every call it may
    # run; not fsynced on its own: the durable write that ends the call syncs it too.
    created = time.time()  # stored and answered alike
    call_num = records.run(lambda c: fastpath.add_call(c, uid, fn, params, is_async, created), durable=False)
    args = {"call_id": uid, "function": name, "digest": fn["digest"], "params": params, "async": is_async,
            "retries": retries, **({"http": http} if http else {})}
    reply, chosen = None, None
    refused: NotAuthorised | None = None
    for cand in candidates:
        try:
            reply = ctx.client(cand, identity).request("invoke", args, timeout=10.0 if is_async else timeout + 15.0,
                                                       connect_timeout=CONNECT_TIMEOUT)
        except NotAuthorised as exc:  # nothing ran there and the node is up: try the next, keep its health
            refused = refused or exc
            continue
        except NotDelivered as exc:
            health.record_failure(conn, cand["name"], exc.message)
            continue  # never reached this node: the next one may take the call
        except NodeUnreachable as exc:
            health.record_failure(conn, cand["name"], exc.message)
            _fail(records, call_num, "LOST", cand["name"], exc.message)  # it had the call: never re-run elsewhere
            raise
        except FaasctlError as exc:
            _fail(records, call_num, "ERROR", cand["name"], exc.message)
            raise
        if health.suspect(cand):  # tried with --force-probe, and it answered
            health.record_success(conn, cand["name"])
        chosen = cand
        break
    if (reply is None or chosen is None) and refused is not None:
        _fail(records, call_num, "ERROR", "", refused.message)
        raise refused
    if reply is None or chosen is None:
        names = ", ".join(c["name"] for c in candidates)
        _fail(records, call_num, "ERROR", "", f"no node holding {name} answered ({names})")
        raise NodeUnreachable(f"no node holding {name} answered ({names})", "check them with `faasctl node list`")
    values = {"node": chosen["name"], **{k: reply[k] for k in fastpath.CALL_RESULT_FIELDS if k in reply}}
    # durable before the caller sees it: a sync call's result, an async call's acknowledgement
    records.run(lambda c: fastpath.set_call(c, call_num, values), durable=True)
    # params go in as stored (JSON text), so a string param is not mistaken for stored JSON
    record = call_view({"call_num": call_num, "func_name": name, "params": json.dumps(params),
                        "is_async": is_async, "version": fn["version"], "alias": fn["alias"], "status": "PENDING",
                        "created_at": created, **values})
    if raise_on_failure:
        check_outcome(record)
    return record


def _fail(records: GroupCommit, call_num: int, status: str, node: str, error: str) -> None:
    values = {"status": status, "node": node, "error": error, "finished_at": time.time()}
    records.run(lambda c: fastpath.set_call(c, call_num, values), durable=True)


def _candidates(ctx: Context, fn: dict[str, Any], holders: list[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    """The holders in the order to try them: placement's order, or the one `node` asked for.

    Drained nodes are left out. Asking for a drained node by name is a Conflict (409, exit
    4), not InvalidInput: the request is well-formed and the node exists, but its current
    state refuses new calls, and it is accepted again once the node is undrained. The call
    is refused before it is recorded, so no call record is left behind."""
    if not holders:
        raise NotFound(f"function {fn['name']} is not deployed on any node", "deploy it again: faasctl fn deploy")
    for h in holders:
        h["labels"] = json.loads(h.get("labels") or "{}")
    if node:
        picked = [h for h in holders if h["name"] == node]
        if not picked:
            raise NotFound(f"function {fn['name']} is not deployed on node {node}",
                           f"it is on: {', '.join(h['name'] for h in holders)}")
        if not placement.in_service(picked):
            raise Conflict(f"node {node} is drained: it takes no new calls",
                           f"undrain it first (faasctl node undrain {node}), or leave out --node")
        return picked
    policy = fn["placement"] or "round-robin"
    pinned = json.loads(fn["pinned"] or "[]")
    if pinned:
        holders = placement.pinned_nodes(holders, pinned)
    serving = placement.in_service(holders)
    if holders and not serving:
        names = ", ".join(h["name"] for h in holders)
        raise Conflict(f"every node that could run {fn['name']} is drained ({names})",
                       "undrain one: faasctl node undrain NAME (see `faasctl node list`)")
    holders = serving
    if policy in ("least-loaded", "warm-first") and len(holders) > 1:
        loads, warm = {}, {}
        for h in holders:
            if health.suspect(h):
                continue  # no status request to a node known to be down: it sorts last
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


def check_outcome(record: dict[str, Any]) -> None:
    if record["status"] == "ERROR":
        last = (record["error"].strip().splitlines() or [""])[-1]  # the exception line, as the function raised it
        raise FunctionFailed(f"call {record['callNum']} failed: {last}",
                             f"see `faasctl logs {record['callNum']}` and `faasctl call get {record['callNum']}`")
    if record["status"] == "TIMEOUT":
        raise CallTimedOut(f"call {record['callNum']} timed out: {record['error']}",
                           "raise the limit with `faasctl fn deploy ... --timeout SECONDS`")
