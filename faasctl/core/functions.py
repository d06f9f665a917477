"""Functions: deploy (a new version per changed archive), list, remove."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from faasctl_agent import kinds
from sqlmodel import func, select

from ..errors import AgentError, InvalidInput, NotFound
from ..state.db import get_or_raise, transaction
from ..state.models import Deployment, Function, FunctionAlias, FunctionConfig, FunctionVersion, NodeVersion
from . import artifacts, listing, nodes, placement, rollout, runtimes, versions
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
           env: dict[str, str] | None = None, secrets: list[str] | None = None,
           keep_versions: int | None = None) -> dict[str, Any]:
    """Check, push and deploy to the function's nodes; record the version only if all took it.

    `policy` holds the options to change (policy.FUNCTION_KEYS); those left out keep their
    value. `placement` and `pin` stay here; the rest goes to the nodes. `kind` is the
    calling contract (faasctl_agent.kinds); none keeps today's rule (handler or command).
    `env` and `secrets` (names), when given, replace the current version's; a change is a
    new version. `keep_versions`: how many versions the nodes keep loaded (versions.py).
    """
    check_name(name, "function")
    if keep_versions is not None and not 1 <= keep_versions <= 100:
        raise InvalidInput(f"--keep-versions {keep_versions} is out of range", "give 1 to 100 (the default is 5)")
    rt = runtimes.get(ctx, runtime)
    clean = check_policy(policy or {})
    for key in set(clean) - set(policy_model.FUNCTION_KEYS):
        raise InvalidInput(f"{key} is not a function option", "set stem cells per runtime or node: --stem-cells N")
    placement_policy, pinned = clean.pop("placement", ""), clean.pop("pin", None)
    with transaction(ctx.engine) as s:  # env and secrets checked before anything is stored or sent
        config = fnsecrets.configuration(ctx, fnsecrets.config_of(s, s.get(Function, name)), env, secrets)
    kind, handler = check_kind(kind, handler, rt)
    art = artifacts.prepare(ctx, source, filename)
    targets = placement.pinned_nodes(nodes.all_nodes(ctx), pinned or [])
    if not targets:
        raise NotFound("there are no nodes to deploy to", "add one first: faasctl node add local")
    with transaction(ctx.engine) as s:
        prior = s.get(Function, name)
        merged = {**(prior.policy if prior else {}), **clean}
        changed = prior is None or prior.digest != art.digest or fnsecrets.config_of(s, prior) != config
        version = _last_version(s, name) + 1 if changed else prior.version  # type: ignore[union-attr]
    args = rollout.agent_args(name, art.digest, version, kind, handler, rt, merged, config)
    results, failed = rollout.everywhere(ctx, rt, args, targets)
    with transaction(ctx.engine) as s:
        fn = s.get(Function, name)
        changed = fn is None or fn.digest != art.digest or fnsecrets.config_of(s, fn) != config
        if fn is None:  # new, or removed before: its versions (and calls) are kept, so numbering goes on
            fn = Function(name=name, runtime_name=runtime)
        if changed:
            fn.version = _last_version(s, name) + 1
            if config["env"] or config["secrets"]:
                s.merge(FunctionConfig(function_name=name, version=fn.version, **config))
        s.merge(_version_row(s, name, fn.version, art, kind, runtime, handler, merged))
        fn.runtime_name, fn.digest, fn.handler, fn.kind = runtime, art.digest, handler, kind
        fn.mode = "command" if kind == kinds.COMMAND else "handler"
        fn.policy = merged
        fn.placement = placement_policy or fn.placement
        fn.pinned = pinned if pinned is not None else fn.pinned
        fn.keep_versions = keep_versions or fn.keep_versions or 5
        fn.updated_at = time.time()
        s.add(fn)
        for node_name in results:
            s.merge(Deployment(function_name=name, node_name=node_name, digest=art.digest, version=fn.version))
            s.merge(NodeVersion(function_name=name, node_name=node_name, version=fn.version, digest=art.digest))
        data = function_dict(fn)
    data.update(config)  # names and plain values only: a secret's value is never in the state
    data["changed"] = changed
    data["nodes"] = results
    data["live"] = versions.live_alias(ctx, name)
    data["gc"] = versions.collect(ctx, name)
    if failed:
        raise AgentError(f"{name} was deployed on {len(results)} of {len(targets)} nodes; failed on "
                         + rollout.failures(failed),
                         "fix those nodes (faasctl node status NAME), then deploy again; it sends what is missing")
    return data


def _last_version(s: Any, name: str) -> int:
    """The highest version number ever given (a rollback makes an older one current, and a
    removed function's versions are kept), so a new version never reuses a number."""
    last = s.exec(select(func.max(FunctionVersion.version)).where(FunctionVersion.function_name == name)).one()
    return int(last or 0)


def _version_row(s: Any, name: str, version: int, art: artifacts.Artifact, kind: str, runtime: str,
                 handler: str, policy: dict[str, Any]) -> FunctionVersion:
    """The version's row, new or as redeployed (the same code with another kind or policy)."""
    row: FunctionVersion | None = s.exec(select(FunctionVersion).where(FunctionVersion.function_name == name,
                                                                       FunctionVersion.version == version)).first()
    if row is None:
        row = FunctionVersion(function_name=name, version=version, digest=art.digest, filename=art.filename,
                              size=art.size)
    row.kind, row.runtime_name, row.handler, row.policy = kind, runtime, handler, policy
    return row


def check_kind(kind: str, handler: str, rt: dict[str, Any]) -> tuple[str, str]:
    """The kind and handler a deploy means, in its platform's form. Node.js's runner serves
    command, native and lambda (whose handler defaults to index.handler, as in AWS's Node
    examples); the other kinds are Python's platforms' contracts."""
    node = rt.get("runner") == "node"
    if node and kind == "lambda" and not handler:
        handler = "index.handler"
    try:
        kind, handler = kinds.resolve(kind, handler, rt.get("handler", ""), rt.get("run", ""))
    except kinds.KindError as exc:
        raise InvalidInput(exc.message, exc.hint) from exc
    if node and kind not in (kinds.COMMAND, kinds.NATIVE, "lambda"):
        raise InvalidInput(f"kind {kind} is not served by the Node.js runner",
                           "use --kind command, native or lambda (docs/node.md)")
    return kind, handler


check_runner_echo = rollout.check_runner_echo


all_functions = listing.all_functions  # plain sqlite3, per-function counts (listing.py)


def remove(ctx: Context, name: str) -> None:
    get(ctx, name)
    with transaction(ctx.engine) as s:
        deps = list(s.exec(select(Deployment).where(Deployment.function_name == name)))
    for dep in deps:
        node = nodes.get(ctx, dep.node_name)
        ctx.client(node).request("remove_function", {"function": name}, timeout=60)
    with transaction(ctx.engine) as s:  # its versions stay (numbering goes on); where they ran does not
        for table in (Deployment, NodeVersion, FunctionAlias):
            for row in s.exec(select(table).where(table.function_name == name)):
                s.delete(row)
        fn = s.get(Function, name)
        if fn is not None:
            s.delete(fn)


def set_policy(ctx: Context, name: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """Change a function's policy without its source: redeploy its cached archive (the
    same digest, so nothing is sent again) with the new options merged in."""
    fn = get(ctx, name)
    return deploy(ctx, name, artifacts.cached(ctx, fn["digest"]), fn["runtime_name"], handler=fn["handler"],
                  policy=policy, kind=fn["kind"])
