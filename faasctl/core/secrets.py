"""Secrets (issue 13): set, list and remove; values go to the nodes that need them.

A value lives in FAASCTL_HOME/secrets (0600, state/secretfiles.py) and on each node that
runs a function using it (the agent's home, 0600). It travels only inside agent
requests, over the CURVE channel (through the SSH tunnel for remote nodes): never on an
SSH command line, never by rsync. The state file knows names only: which version of a
function uses which secret (models.FunctionConfig).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from faasctl_agent.fnconfig import ConfigError, check_env, check_secret_name, check_secret_names, check_secret_value
from sqlmodel import Session, col, select

from ..errors import Conflict, InvalidInput, NodesFailed, NotFound
from ..state import secretfiles
from ..state.db import transaction
from ..state.models import Deployment, Function, FunctionConfig
from . import fanout, nodes
from .context import Context


def checked(check: Callable[..., Any], *args: Any) -> Any:
    """One of fnconfig's checks, its refusal as this side's InvalidInput (same words)."""
    try:
        return check(*args)
    except ConfigError as exc:
        raise InvalidInput(exc.message, exc.hint) from exc


def config_of(session: Session, fn: Function | None) -> dict[str, Any]:
    """The env and secret names of a function's current version (none for a version without)."""
    row = session.get(FunctionConfig, (fn.name, fn.version)) if fn is not None else None
    return {"env": dict(row.env) if row else {}, "secrets": list(row.secrets) if row else []}


def configuration(ctx: Context, prior: dict[str, Any], env: dict[str, str] | None,
                  names: list[str] | None) -> dict[str, Any]:
    """A deploy's config: what was given replaces the prior version's, the rest is kept.
    Every secret named must exist here, checked before anything is sent."""
    config = {"env": checked(check_env, prior["env"] if env is None else env),
              "secrets": checked(check_secret_names, prior["secrets"] if names is None else names)}
    for name in config["secrets"]:
        if not secretfiles.exists(ctx.settings.secrets_dir, name):
            raise NotFound(f"no secret named {name!r}", f"set it first: faasctl secret set {name} < FILE")
    return config


def push(ctx: Context, node: dict[str, Any], names: list[str], restart: bool = False) -> dict[str, Any]:
    """Send each value to one node's agent (over CURVE); the agent stores it 0600."""
    reply: dict[str, Any] = {}
    for name in names:
        value = base64.b64encode(secretfiles.read(ctx.settings.secrets_dir, name)).decode()
        reply = ctx.client(node).request("secret_put", {"name": name, "value": value, "restart": restart},
                                         timeout=60)
    return reply


def users(ctx: Context) -> dict[str, list[str]]:
    """Each secret's functions (their current versions), by name."""
    found: dict[str, list[str]] = {}
    with transaction(ctx.engine) as s:
        same = (col(FunctionConfig.function_name) == Function.name) & (col(FunctionConfig.version) == Function.version)
        rows = s.exec(select(Function.name, FunctionConfig.secrets).join(FunctionConfig, same))
        for fn_name, names in rows:
            for name in names:
                found.setdefault(name, []).append(fn_name)
    return {k: sorted(v) for k, v in found.items()}


def set_value(ctx: Context, name: str, value: bytes, restart: bool = False) -> dict[str, Any]:
    """Store the value here, then on every node that runs a function using it. Containers
    started from now on read the new value; with `restart` the warm ones are recycled too."""
    checked(check_secret_name, name)
    checked(check_secret_value, name, value)
    secretfiles.write(ctx.settings.secrets_dir, name, value)
    functions = users(ctx).get(name, [])
    with transaction(ctx.engine) as s:
        deployed = s.exec(select(Deployment).where(col(Deployment.function_name).in_(functions)))
        held = sorted({d.node_name for d in deployed})
    targets = [nodes.get(ctx, n) for n in held]
    outcomes = fanout.run(targets, lambda n: str(n["name"]), lambda n, _p: push(ctx, n, [name], restart))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise NodesFailed(f"secret {name} is stored here and on {len(outcomes) - len(failed)} of {len(outcomes)} "
                          "nodes; not on " + "; ".join(f"{o.name}: {o.error}" for o in failed),
                          f"those nodes keep the old value: run `faasctl secret set {name}` again when they answer")
    return {"name": name, "functions": functions, "restart": restart,
            "nodes": {o.name: {"recycled": int(o.value.get("recycled", 0))} for o in outcomes}}


def listing(ctx: Context) -> list[dict[str, Any]]:
    """Names, when each was set, and the functions using it: never a value."""
    used = users(ctx)
    return [{"name": name, "updated_at": mtime, "functions": used.get(name, [])}
            for name, mtime in secretfiles.listing(ctx.settings.secrets_dir).items()]


def remove(ctx: Context, name: str) -> dict[str, Any]:
    """Refused while a deployed function uses it; else removed from every node, then here."""
    checked(check_secret_name, name)
    if not secretfiles.exists(ctx.settings.secrets_dir, name):
        raise NotFound(f"no secret named {name!r}", "see `faasctl secret list`")
    used = users(ctx).get(name)
    if used:
        raise Conflict(f"secret {name} is used by function {', '.join(used)}",
                       f"deploy {'them' if len(used) > 1 else 'it'} without it (--secret for the ones to keep, or "
                       f"--no-secrets), or remove {'them' if len(used) > 1 else 'it'} with `faasctl fn rm`; then retry")
    outcomes = fanout.run(nodes.all_nodes(ctx), lambda n: str(n["name"]),
                          lambda n, _p: ctx.client(n).request("secret_rm", {"name": name}, timeout=60))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise NodesFailed(f"secret {name} was not removed: " + "; ".join(f"{o.name}: {o.error}" for o in failed),
                          "it is kept here until every node has dropped it: retry when they answer, "
                          "or remove a node that is gone for good (faasctl node rm)")
    secretfiles.remove(ctx.settings.secrets_dir, name)
    return {"name": name, "nodes": [o.name for o in outcomes]}
