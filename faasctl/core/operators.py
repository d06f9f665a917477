"""Operators (issue 15): each keeps their own CURVE key pair; every node accepts the set.

The state holds public keys only (models.Operator), the operator running faasctl among
them, named by FAASCTL_OPERATOR or the login name. A change pushes the whole set to every
node at once (the agent's `operators` op swaps its allow-list in one step and checks it on
every request, so a removed key is refused at once, even on an open connection). What
each node confirmed is kept (models.NodeOperators): a node that was down gets the set
from `converge` (`faasctl node sync`, serve's prober) when it answers again.
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from ..config import operator_name
from ..errors import Conflict, FaasctlError, InvalidInput, NodesFailed, NotFound
from ..state.db import transaction
from ..state.models import NodeOperators, Operator
from . import fanout, nodes
from .context import Context
from .names import check_name

KEY_LENGTH = 40
Z85 = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


def check_key(key: str) -> str:
    """A CURVE public key as faasctl prints it: 40 characters of Z85."""
    key = key.strip()
    bad = sorted(set(key) - Z85)
    if len(key) != KEY_LENGTH or bad:
        why = f"it has {len(key)} characters" if len(key) != KEY_LENGTH else f"{''.join(bad)!r} is not Z85"
        raise InvalidInput(f"{key[:48]!r} is not a CURVE public key ({KEY_LENGTH} Z85 characters; {why})",
                           "ask the operator for the output of `faasctl operator key`")
    return key


def own(ctx: Context) -> dict[str, str]:
    """This operator: name and public key (the pair is made on first need)."""
    return {"name": operator_name(), "public_key": ctx.identity()["public"]}


def _ensure_self(ctx: Context) -> str:
    """The name of this operator's row, added if its key has none; returns that name."""
    me = own(ctx)
    with transaction(ctx.engine) as s:
        row = s.exec(select(Operator).where(Operator.public_key == me["public_key"])).first()
        if row is not None:
            return row.name
        check_name(me["name"], "operator")
        taken = s.get(Operator, me["name"])
        if taken is not None:
            raise Conflict(f"operator {me['name']} is another key ({taken.public_key[:8]}…) in this state",
                           "name yourself: set FAASCTL_OPERATOR=NAME (a name not in `faasctl operator list`)")
        s.add(Operator(name=me["name"], public_key=me["public_key"]))
        return me["name"]


def wanted(ctx: Context) -> dict[str, str]:
    with transaction(ctx.engine) as s:
        return {o.name: o.public_key for o in s.exec(select(Operator))}


def push(ctx: Context, targets: list[dict[str, Any]]) -> list[fanout.Outcome]:
    """Send the whole set to each node in parallel; record what each one confirmed. The
    sender's own key is always in it (made a row first), so no push locks its sender out."""
    keys = wanted(ctx)
    if ctx.identity()["public"] not in keys.values():
        _ensure_self(ctx)
        keys = wanted(ctx)

    def one(node: dict[str, Any], _progress: Any) -> int:
        reply = ctx.client(node).request("operators", {"keys": keys}, timeout=15)
        with transaction(ctx.engine) as s:
            row = s.get(NodeOperators, node["name"]) or NodeOperators(node_name=node["name"])
            row.keys, row.synced_at = sorted(reply.get("keys") or []), time.time()
            s.add(row)
        return int(reply.get("authorized", 0))

    return fanout.run(targets, lambda n: str(n["name"]), one)


def _report(outcomes: list[fanout.Outcome]) -> dict[str, str]:
    return {o.name: "ok" if o.ok else o.error for o in outcomes}


def _check_delivered(what: str, outcomes: list[fanout.Outcome]) -> None:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        names = " ".join(o.name for o in failed)
        raise NodesFailed(f"{what} here and on {len(outcomes) - len(failed)} of {len(outcomes)} node(s); not on "
                          + "; ".join(f"{o.name}: {o.error}" for o in failed),
                          f"those nodes keep their old set until `faasctl node sync {names}` reaches them")


def add(ctx: Context, name: str, public_key: str) -> dict[str, Any]:
    """Authorise `name`'s key on every node. The same name and key again changes nothing
    here and pushes the set again (a repair); a name or key already used otherwise is a Conflict."""
    check_name(name, "operator")
    key = check_key(public_key)
    _ensure_self(ctx)
    with transaction(ctx.engine) as s:
        row = s.get(Operator, name)
        if row is not None and row.public_key != key:
            raise Conflict(f"operator {name} exists with another key ({row.public_key[:8]}…)",
                           f"to change it: faasctl operator rm {name}, then add it again")
        other = s.exec(select(Operator).where(Operator.public_key == key)).first()
        if other is not None and other.name != name:
            raise Conflict(f"this key is operator {other.name}'s already", "one key, one operator: see "
                           "`faasctl operator list`")
        changed = row is None
        if changed:
            s.add(Operator(name=name, public_key=key))
    outcomes = push(ctx, nodes.all_nodes(ctx))
    _check_delivered(f"operator {name} is authorised", outcomes)
    return {"name": name, "public_key": key, "changed": changed, "nodes": _report(outcomes)}


def remove(ctx: Context, name: str) -> dict[str, Any]:
    """Take `name`'s key off every node; refused for this operator's own key."""
    check_name(name, "operator")
    me = _ensure_self(ctx)
    if name == me:
        raise Conflict(f"operator {name} is you: removing your own key would lock you out of every node",
                       "ask another operator to remove it from their faasctl")
    with transaction(ctx.engine) as s:
        row = s.get(Operator, name)
        if row is None:
            raise NotFound(f"no operator named {name!r}", "see `faasctl operator list`")
        s.delete(row)
    outcomes = push(ctx, nodes.all_nodes(ctx))
    _check_delivered(f"operator {name} is removed", outcomes)
    return {"name": name, "nodes": _report(outcomes)}


def listing(ctx: Context) -> dict[str, Any]:
    """Each operator with the number of nodes that confirmed its key, and the nodes whose
    confirmed set is not the wanted one (down during a change, or never pushed)."""
    me = _ensure_self(ctx)
    names = [n["name"] for n in nodes.all_nodes(ctx)]
    with transaction(ctx.engine) as s:
        ops = list(s.exec(select(Operator).order_by(Operator.name)))
        confirmed = {r.node_name: set(r.keys) for r in s.exec(select(NodeOperators)) if r.node_name in names}
    want = {o.public_key for o in ops}
    rows = [{"name": o.name, "public_key": o.public_key, "added_at": o.added_at, "you": o.name == me,
             "nodes": sum(1 for keys in confirmed.values() if o.public_key in keys)} for o in ops]
    return {"operators": rows, "node_count": len(names),
            "out_of_step": [n for n in names if confirmed.get(n) != want]}


def converge(ctx: Context, names: list[str] | None = None) -> dict[str, Any]:
    """Push the set to nodes (all, or `names`) whose confirmed set differs; only once the
    set is in use (an `operator` command ran), so a state without it contacts no node."""
    with transaction(ctx.engine) as s:
        ops = list(s.exec(select(Operator)))
        confirmed = {r.node_name: set(r.keys) for r in s.exec(select(NodeOperators))}
    if not ops:
        return {"synced": {}, "failed": {}}
    want = {o.public_key for o in ops}
    stale = [n for n in nodes.all_nodes(ctx) if (names is None or n["name"] in names)
             and confirmed.get(n["name"]) != want]
    if not stale:
        return {"synced": {}, "failed": {}}
    try:
        outcomes = push(ctx, stale)
    except FaasctlError as exc:  # this operator cannot be named (FAASCTL_OPERATOR): say so per node
        return {"synced": {}, "failed": {n["name"]: exc.message for n in stale}}
    return {"synced": {o.name: f"operators ({o.value} key{'' if o.value == 1 else 's'})" for o in outcomes if o.ok},
            "failed": {o.name: o.error for o in outcomes if not o.ok}}
