"""Versions of a function: list them, roll back, and name them with aliases (issue 14).

Every deploy that changes the code, env or secrets is a new version; its row keeps what
making it current again needs (digest, runtime, kind, handler, policy), so a rollback is
the old version placed again. Nodes keep the last K versions loaded (versionsync.py),
so placing one of those is instant there: no push, no install, and its warm containers
are reused if they are still up. An alias names a version (`live`, `beta`), optionally
with a canary: a second version that gets a share of the calls, drawn per call.
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from ..errors import InvalidInput, NotFound
from ..state.db import get_or_raise, transaction
from ..state.models import Deployment, Function, FunctionAlias, FunctionConfig, FunctionVersion
from . import nodes, versionsync
from .context import Context
from .names import check_alias

LIVE = "live"
collect = versionsync.collect  # the nodes' garbage collection, run after each change


def _function(s: Any, name: str) -> Function:
    return get_or_raise(s, Function, name, NotFound(f"no function named {name!r}", "see `faasctl fn list`"))


def _version(s: Any, name: str, number: int) -> FunctionVersion:
    row = s.exec(select(FunctionVersion).where(FunctionVersion.function_name == name,
                                               FunctionVersion.version == number)).first()
    if row is None:
        raise NotFound(f"function {name} has no version {number}", f"see `faasctl fn versions {name}`")
    return row  # type: ignore[no-any-return]


def live_alias(ctx: Context, name: str) -> int | None:
    """The version `live` names, which a plain call follows (None: no such alias)."""
    with transaction(ctx.engine) as s:
        row = s.get(FunctionAlias, (name, LIVE))
        return row.version if row else None


def listing(ctx: Context, name: str) -> list[dict[str, Any]]:
    """Each version, newest first: what it is, where it is loaded, what it served."""
    with transaction(ctx.engine) as s:
        fn = _function(s, name)
        rows = list(s.exec(select(FunctionVersion).where(FunctionVersion.function_name == name)
                           .order_by(FunctionVersion.version.desc())))  # type: ignore[attr-defined]
        configs = {c.version: c for c in s.exec(select(FunctionConfig).where(FunctionConfig.function_name == name))}
        aliases = list(s.exec(select(FunctionAlias).where(FunctionAlias.function_name == name)))
        held = versionsync.held(s, name)
    served = {r[0]: (r[1], r[2] or 0) for r in ctx.fast.execute(
        "SELECT version, COUNT(*), SUM(CASE WHEN status IN ('ERROR','TIMEOUT','LOST') THEN 1 ELSE 0 END) "
        "FROM call WHERE func_name=? "
        "GROUP BY version", (name,))}
    out = []
    for row in rows:
        config = configs.get(row.version)
        names = [a.name for a in aliases if a.version == row.version]
        names += [f"{a.name} ({a.canary_weight:g})" for a in aliases if a.canary_version == row.version]
        calls, errors = served.get(row.version, (0, 0))
        out.append({"version": row.version, "digest": row.digest, "created_at": row.created_at,
                    "runtime": row.runtime_name or fn.runtime_name, "kind": row.kind, "handler": row.handler,
                    "policy": row.policy, "env": sorted(config.env) if config else [],
                    "secrets": list(config.secrets) if config else [], "calls": calls, "errors": errors,
                    "current": row.version == fn.version, "aliases": names,
                    "nodes": sorted(n for n, vs in held.items() if row.version in vs)})
    return out


def rollback(ctx: Context, name: str, to: int | None = None) -> dict[str, Any]:
    """Make version `to` (default: the one before the current) current on every node that
    holds the function; `live`, if set, moves with it. Nodes that cannot be reached are
    reported and left out of date (`node list`) until `node sync` or their return."""
    with transaction(ctx.engine) as s:
        fn = _function(s, name)
        if to is None:
            earlier = s.exec(select(FunctionVersion.version).where(FunctionVersion.function_name == name,
                                                                   FunctionVersion.version < fn.version)).all()
            if not earlier:
                raise InvalidInput(f"function {name} has no version before {fn.version}",
                                   f"see `faasctl fn versions {name}`")
            to = max(earlier)
        target = _version(s, name, to)
        held = sorted({d.node_name for d in s.exec(select(Deployment).where(Deployment.function_name == name))})
        before = fn.version
    if to == before and live_alias(ctx, name) in (None, to):
        return {"function": name, "from": before, "version": to, "changed": False, "nodes": {}, "failed": {}}
    result = versionsync.activate(ctx, name, target, [nodes.get(ctx, n) for n in held])
    with transaction(ctx.engine) as s:
        fn = _function(s, name)
        fn.version, fn.digest, fn.kind, fn.handler = target.version, target.digest, target.kind, target.handler
        fn.mode = "command" if target.kind == "command" else "handler"
        fn.runtime_name = target.runtime_name or fn.runtime_name
        fn.policy = target.policy or fn.policy
        fn.updated_at = time.time()
        s.add(fn)
        live = s.get(FunctionAlias, (name, LIVE))
        if live is not None:
            live.version, live.canary_version, live.canary_weight, live.updated_at = to, 0, 0.0, time.time()
            s.add(live)
    return {"function": name, "from": before, "version": to, "changed": True, **result, "gc": collect(ctx, name)}


def set_alias(ctx: Context, name: str, alias: str, version: int,
              canary: dict[int, float] | None = None) -> dict[str, Any]:
    """Point `alias` at `version`, with at most one canary version and its share of calls.

    The versions are loaded on the function's nodes first (where missing), so the alias
    never names a version a node cannot serve; then the row changes in one transaction."""
    check_alias(alias)
    canary = canary or {}
    if len(canary) > 1:
        raise InvalidInput("an alias splits calls between two versions at most", "give one --weight VERSION=SHARE")
    (canary_version, weight), = canary.items() if canary else ((0, 0.0),)
    if canary and not 0.0 < weight < 1.0:
        raise InvalidInput(f"weight {weight:g} is not a share of calls", "give a number between 0 and 1, e.g. 2=0.1")
    if canary and canary_version == version:
        raise InvalidInput("the canary is the alias's own version", "name another version in --weight")
    with transaction(ctx.engine) as s:
        _function(s, name)
        rows = [_version(s, name, v) for v in (version, canary_version) if v]
        held = sorted({d.node_name for d in s.exec(select(Deployment).where(Deployment.function_name == name))})
    loaded = {row.version: versionsync.load(ctx, name, row, [nodes.get(ctx, n) for n in held]) for row in rows}
    with transaction(ctx.engine) as s:
        row = s.get(FunctionAlias, (name, alias)) or FunctionAlias(function_name=name, name=alias, version=version)
        row.version, row.canary_version, row.canary_weight = version, canary_version, weight
        row.updated_at = time.time()
        s.add(row)
    return {"function": name, "alias": alias, "version": version, "canary_version": canary_version or None,
            "canary_weight": weight, "loaded": loaded, "gc": collect(ctx, name)}


def remove_alias(ctx: Context, name: str, alias: str) -> bool:
    """Remove an alias (idempotent); True if there was one."""
    check_alias(alias)
    with transaction(ctx.engine) as s:
        _function(s, name)
        row = s.get(FunctionAlias, (name, alias))
        if row is not None:
            s.delete(row)
        return row is not None


def aliases(ctx: Context, name: str) -> list[dict[str, Any]]:
    with transaction(ctx.engine) as s:
        _function(s, name)
        return [{"alias": a.name, "version": a.version, "canary_version": a.canary_version or None,
                 "canary_weight": a.canary_weight, "updated_at": a.updated_at}
                for a in s.exec(select(FunctionAlias).where(FunctionAlias.function_name == name))]

