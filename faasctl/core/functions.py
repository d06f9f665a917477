"""Functions: deploy (a new version per changed archive), list, remove."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faasctl_agent import kinds
from sqlmodel import func, select

from ..errors import AgentError, InvalidInput, NotFound
from ..state.db import get_or_raise, transaction
from ..state.models import Deployment, Function, FunctionConfig, FunctionVersion
from . import artifacts, fanout, listing, nodes, placement, runtimes
from . import policy as policy_model
from . import secrets as fnsecrets
from .context import Context
from .names import check_name

check_policy = policy_model.check  # the node commands and the inventory check theirs with it too


def function_dict(fn: Function) -> dict[str, Any]:
    data = fn.model_dump()
    data["functionName"], data["runtimeName"] = fn.name, fn.runtime_name
    return data


def get(ctx: Context, name: str) -> dict[str, Any]:
    with transaction(ctx.engine) as s:
        return function_dict(get_or_raise(s, Function, name, NotFound(f"no function named {name!r}",
                                                                     "see `faasctl fn list`")))


def deploy(ctx: Context, name: str, source: Path | bytes, runtime: str, *, handler: str = "",
           filename: str = "", policy: dict[str, Any] | None = None, kind: str = "",
           env: dict[str, str] | None = None, secrets: list[str] | None = None) -> dict[str, Any]:
    """Check, push and deploy to the function's nodes; record the version only if all took it.

    `policy` holds the options to change (policy.FUNCTION_KEYS); those left out keep their
    value. `placement` and `pin` stay here; the rest goes to the nodes. `kind` is the
    calling contract (faasctl_agent.kinds); none keeps today's rule (handler or command).
    `env` and `secrets` (names), when given, replace the current version's; a change is a
    new version.
    """
    check_name(name, "function")
    rt = runtimes.get(ctx, runtime)
    clean = check_policy(policy or {})
    for key in set(clean) - set(policy_model.FUNCTION_KEYS):
        raise InvalidInput(f"{key} is not a function option", "set stem cells per runtime or node: --stem-cells N")
    placement_policy, pinned = clean.pop("placement", ""), clean.pop("pin", None)
    with transaction(ctx.engine) as s:  # env and secrets checked before anything is stored or sent
        config = fnsecrets.configuration(ctx, fnsecrets.config_of(s, s.get(Function, name)), env, secrets)
    try:
        kind, handler = kinds.resolve(kind, handler, rt["handler"], rt["run"])
    except kinds.KindError as exc:
        raise InvalidInput(exc.message, exc.hint) from exc
    art = artifacts.prepare(ctx, source, filename)
    targets = placement.pinned_nodes(nodes.all_nodes(ctx), pinned or [])
    if not targets:
        raise NotFound("there are no nodes to deploy to", "add one first: faasctl node add local")
    with transaction(ctx.engine) as s:
        prior = s.get(Function, name)
        merged = {**(prior.policy if prior else {}), **clean}
        version = _next_version(s, name, prior, prior is None or prior.digest != art.digest
                                or fnsecrets.config_of(s, prior) != config)
    args = {"function": name, "digest": art.digest, "mode": "command" if kind == kinds.COMMAND else "handler",
            "handler": handler, "kind": kind, "version": version,
            "runtime": {k: rt[k] for k in ("image", "path", "dependencies", "run", "handler")}, **merged, **config}
    if rt.get("stem_cells") is not None:
        args["stem_cells"] = rt["stem_cells"]
    results, failed = _deploy_everywhere(ctx, rt, art.digest, args, targets)
    with transaction(ctx.engine) as s:
        fn = s.get(Function, name)
        changed = fn is None or fn.digest != art.digest or fnsecrets.config_of(s, fn) != config
        if fn is None:  # new, or removed before: its versions (and calls) are kept, so numbering goes on
            last = s.exec(select(func.max(FunctionVersion.version))
                          .where(FunctionVersion.function_name == name)).one()
            fn = Function(name=name, runtime_name=runtime, version=int(last or 0))
        if changed:
            fn.version += 1
            s.add(FunctionVersion(function_name=name, version=fn.version, digest=art.digest,
                                  filename=art.filename, size=art.size, kind=kind))
            if config["env"] or config["secrets"]:
                s.merge(FunctionConfig(function_name=name, version=fn.version, **config))
        else:
            _set_version_kind(s, name, fn.version, kind)
        fn.runtime_name, fn.digest, fn.handler, fn.kind = runtime, art.digest, handler, kind
        fn.mode = "command" if kind == kinds.COMMAND else "handler"
        fn.policy = merged
        fn.placement = placement_policy or fn.placement
        fn.pinned = pinned if pinned is not None else fn.pinned
        fn.updated_at = time.time()
        s.add(fn)
        for node_name in results:
            s.merge(Deployment(function_name=name, node_name=node_name, digest=art.digest, version=fn.version))
        data = function_dict(fn)
    data.update(config)  # names and plain values only: a secret's value is never in the state
    data["changed"] = changed
    data["nodes"] = results
    if failed:
        raise AgentError(f"{name} was deployed on {len(results)} of {len(targets)} nodes; failed on "
                           + "; ".join(f"{o.name}: {o.error}" for o in failed),
                           "fix those nodes (faasctl node status NAME), then deploy again; it sends what is missing")
    return data


def _next_version(s: Any, name: str, prior: Function | None, changed: bool) -> int:
    """The version number this deploy will have (the runner tells Lambda functions theirs)."""
    if prior is not None:
        return prior.version + changed
    last = s.exec(select(func.max(FunctionVersion.version)).where(FunctionVersion.function_name == name)).one()
    return int(last or 0) + 1


def _set_version_kind(s: Any, name: str, version: int, kind: str) -> None:
    """The same code deployed again with another kind: its version now runs as that kind."""
    row = s.exec(select(FunctionVersion).where(FunctionVersion.function_name == name,
                                               FunctionVersion.version == version)).first()
    if row is not None and row.kind != kind:
        row.kind = kind
        s.add(row)


def _deploy_everywhere(ctx: Context, rt: dict[str, Any], digest: str, args: dict[str, Any],
                       targets: list[dict[str, Any]]) -> tuple[dict[str, Any], list[fanout.Outcome]]:
    """Runtime, artifact and deploy on each node; several nodes in parallel, each on its own.

    With one node its error is raised as is (its own exit code). With several, every
    node that took the version is recorded even if others failed.
    """

    def on_node(node: dict[str, Any], progress: Callable[[str], None]) -> dict[str, Any]:
        progress("runtime image")
        runtimes.ensure_on_node(ctx, rt, node)
        progress("push archive")
        artifacts.push(ctx, node, digest)
        if args["secrets"]:
            progress("secrets")
            fnsecrets.push(ctx, node, args["secrets"])
        progress("install and load")
        reply: dict[str, Any] = ctx.client(node).request("deploy", args, timeout=1800)
        if (args["env"] or args["secrets"]) and not reply.get("configured"):
            raise AgentError(f"the agent on node {node['name']} is older than this faasctl and ignores --env "
                             "and --secret", f"upgrade it: faasctl node upgrade {node['name']}, then deploy again")
        if reply.get("kind", kinds.NATIVE if args["mode"] == "handler" else kinds.COMMAND) != args["kind"]:
            raise AgentError(f"node {node['name']}'s agent does not know kind {args['kind']}",
                             f"upgrade it: faasctl node upgrade {node['name']}")  # an agent older than kinds
        return reply

    if len(targets) == 1:
        return {targets[0]["name"]: on_node(targets[0], lambda _step: None)}, []
    outcomes = fanout.run(targets, lambda n: str(n["name"]), on_node, total=3)
    results = {o.name: o.value for o in outcomes if o.ok}
    failed = [o for o in outcomes if not o.ok]
    if not results:
        raise AgentError("the deploy failed on every node: " + "; ".join(f"{o.name}: {o.error}" for o in failed),
                         failed[0].hint or "check the nodes with `faasctl node list`")
    return results, failed


all_functions = listing.all_functions  # plain sqlite3, per-function counts (listing.py)


def remove(ctx: Context, name: str) -> None:
    get(ctx, name)
    with transaction(ctx.engine) as s:
        deps = list(s.exec(select(Deployment).where(Deployment.function_name == name)))
    for dep in deps:
        node = nodes.get(ctx, dep.node_name)
        ctx.client(node).request("remove_function", {"function": name}, timeout=60)
    with transaction(ctx.engine) as s:
        for dep in s.exec(select(Deployment).where(Deployment.function_name == name)):
            s.delete(dep)
        fn = s.get(Function, name)
        if fn is not None:
            s.delete(fn)


def set_policy(ctx: Context, name: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """Change a function's policy without its source: redeploy its cached archive (the
    same digest, so nothing is sent again) with the new options merged in."""
    fn = get(ctx, name)
    return deploy(ctx, name, artifacts.cached(ctx, fn["digest"]), fn["runtime_name"], handler=fn["handler"],
                  policy=policy, kind=fn["kind"])
