"""Keeping nodes in step with the versions the state names, and their disks tidy.

`activate` and `load` place a version on nodes (rollout.py) and record where it is.
A node that cannot be reached keeps its old current version: `out_of_date` shows it
(`node list`) and `converge` brings it up to date when it answers again (`node sync`,
`node upgrade`, serve's prober). `collect` keeps each node to the function's last K
versions, plus the current one and those aliases name, and reports the disk it freed.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import select

from ..errors import FaasctlError, NodeUnreachable
from ..state.db import transaction
from ..state.models import Deployment, Function, FunctionAlias, FunctionConfig, FunctionVersion, NodeVersion, Runtime
from . import health, nodes, rollout, runtimes
from .context import Context

log = logging.getLogger("faasctl")


def held(s: Any, name: str) -> dict[str, set[int]]:
    """Versions of `name` each node holds: loaded ones and its current one (a file from
    before versions were tracked per node has only the latter)."""
    out: dict[str, set[int]] = {}
    for row in s.exec(select(NodeVersion).where(NodeVersion.function_name == name)):
        out.setdefault(row.node_name, set()).add(row.version)
    for dep in s.exec(select(Deployment).where(Deployment.function_name == name)):
        out.setdefault(dep.node_name, set()).add(dep.version)
    return out


def _args(ctx: Context, name: str, row: FunctionVersion, activate: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    with transaction(ctx.engine) as s:
        fn = s.get(Function, name)
        config = s.get(FunctionConfig, (name, row.version))
    base = fn.runtime_name if fn else ""
    rt = runtimes.get(ctx, row.runtime_name or base)
    conf = {"env": dict(config.env), "secrets": list(config.secrets)} if config else {"env": {}, "secrets": []}
    policy = row.policy or (fn.policy if fn else {})
    return rt, rollout.agent_args(name, row.digest, row.version, row.kind, row.handler, rt, policy, conf, activate)


def _reachable(ctx: Context, targets: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Nodes not marked down, and why each of the others is skipped (no wait on a dead node)."""
    marks = health.read_all(ctx.fast)
    up = [n for n in targets if not (marks.get(n["name"]) and health.in_window(marks[n["name"]]))]
    down = {n["name"]: health.down_message(n["name"], marks[n["name"]]) for n in targets if n not in up}
    return up, down


def _place(ctx: Context, name: str, row: FunctionVersion, targets: list[dict[str, Any]],
           activate: bool, force: bool = False) -> dict[str, Any]:
    """`force`: try nodes marked down too (node sync asks them directly; one that answers
    loses its mark)."""
    rt, args = _args(ctx, name, row, activate)
    up, failed = (targets, {}) if force else _reachable(ctx, targets)
    results: dict[str, Any] = {}
    if up:
        results, outcomes = rollout.everywhere(ctx, rt, args, up, raise_single=not failed and len(up) == 1)
        failed.update({o.name: o.error for o in outcomes})
    for node in results if force else ():
        health.record_success(ctx.fast, node)  # it answered: used again at once
    with transaction(ctx.engine) as s:
        for node in results:
            s.merge(NodeVersion(function_name=name, node_name=node, version=row.version, digest=row.digest))
            if activate:
                s.merge(Deployment(function_name=name, node_name=node, digest=row.digest, version=row.version))
    return {"nodes": {n: {"reused": bool(r.get("reused"))} for n, r in results.items()}, "failed": failed}


def activate(ctx: Context, name: str, row: FunctionVersion, targets: list[dict[str, Any]]) -> dict[str, Any]:
    """Make `row` current on `targets`; those that fail keep their version (reported)."""
    if not targets:
        return {"nodes": {}, "failed": {}}
    result = _place(ctx, name, row, targets, activate=True)
    if not result["nodes"]:  # only nodes marked down are left (others raise in rollout)
        raise NodeUnreachable(f"no node took version {row.version} of {name}: " + "; ".join(
            f"{n}: {e}" for n, e in result["failed"].items()), "check them with `faasctl node list`")
    return result


def load(ctx: Context, name: str, row: FunctionVersion, targets: list[dict[str, Any]]) -> dict[str, Any]:
    """Load `row` (not current) where it is not held yet."""
    with transaction(ctx.engine) as s:
        have = held(s, name)
    missing = [n for n in targets if row.version not in have.get(n["name"], set())]
    return _place(ctx, name, row, missing, activate=False) if missing else {"nodes": {}, "failed": {}}


def keep_set(versions: list[int], current: int, aliased: set[int], keep: int) -> set[int]:
    """The last `keep` versions, the current one and those aliases name."""
    return set(sorted(versions, reverse=True)[:max(1, keep)]) | {current} | aliased


def collect(ctx: Context, name: str) -> dict[str, Any]:
    """Drop versions beyond the function's keep count on its nodes; per node what was
    dropped and the bytes freed. Never fails the command that ran it: a node that cannot
    do it now is reported and tidied next time."""
    with transaction(ctx.engine) as s:
        fn = s.get(Function, name)
        if fn is None:
            return {}
        rows = {r.version: r for r in s.exec(select(FunctionVersion).where(FunctionVersion.function_name == name))}
        aliased = {v for a in s.exec(select(FunctionAlias).where(FunctionAlias.function_name == name))
                   for v in (a.version, a.canary_version) if v}
        keep = keep_set(list(rows), fn.version, aliased, fn.keep_versions)
        have = held(s, name)
        images = sorted({r.image for r in s.exec(select(Runtime))})
    digests = sorted({rows[v].digest for v in keep if v in rows})
    extra = {node: sorted(vs - keep) for node, vs in have.items() if vs - keep}
    report: dict[str, Any] = {}
    for node_name, drop in extra.items():
        try:
            node = nodes.get(ctx, node_name)
            reply = ctx.client(node).request("forget_versions", {"function": name, "keep": digests,
                                                                 "keep_images": images}, timeout=300)
        except FaasctlError as exc:
            report[node_name] = {"error": exc.message}
            continue
        with transaction(ctx.engine) as s:  # a dropped version sharing a kept one's digest is served by that one
            for row in s.exec(select(NodeVersion).where(NodeVersion.function_name == name,
                                                        NodeVersion.node_name == node_name)):
                if row.version in drop:
                    s.delete(row)
        report[node_name] = {"dropped": drop, "freed_bytes": int((reply.get("freed_bytes") or {}).get("total", 0)),
                             "removed": reply.get("removed", {})}
    return report


def out_of_date(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """Per node, functions whose current version there is not the state's."""
    out: dict[str, list[dict[str, Any]]] = {}
    with transaction(ctx.engine) as s:
        current = {f.name: f.version for f in s.exec(select(Function))}
        for dep in s.exec(select(Deployment)):
            wants = current.get(dep.function_name)
            if wants is not None and dep.version != wants:
                out.setdefault(dep.node_name, []).append({"function": dep.function_name, "has": dep.version,
                                                          "wants": wants})
    return out


def converge(ctx: Context, names: list[str] | None = None) -> dict[str, Any]:
    """Bring nodes (all, or `names`) to each function's current version; what changed and
    what failed, per node; and the operators' keys (core/operators.py). Idempotent: an
    up-to-date node is not contacted."""
    stale = out_of_date(ctx)
    if names is not None:
        stale = {n: v for n, v in stale.items() if n in names}
    done: dict[str, list[str]] = {}
    failed: dict[str, str] = {}
    for node_name, items in stale.items():
        node = nodes.get(ctx, node_name)
        for item in items:
            with transaction(ctx.engine) as s:
                row = s.exec(select(FunctionVersion).where(FunctionVersion.function_name == item["function"],
                                                           FunctionVersion.version == item["wants"])).first()
            if row is None:
                continue
            try:
                result = _place(ctx, item["function"], row, [node], activate=True, force=True)
            except FaasctlError as exc:
                failed[node_name] = exc.message
                break
            if result["failed"]:
                failed[node_name] = result["failed"][node_name]
                break
            done.setdefault(node_name, []).append(f"{item['function']} v{item['wants']}")
    from . import operators  # the operators' keys too: a node down during `operator rm` still accepts the key

    keys = operators.converge(ctx, names)
    for node_name, what in keys["synced"].items():
        done.setdefault(node_name, []).append(what)
    for node_name, error in keys["failed"].items():
        failed.setdefault(node_name, error)
    for node_name in done:
        log.info("node %s brought up to date: %s", node_name, ", ".join(done[node_name]))
    return {"synced": done, "failed": failed}

