"""Getting one version of a function onto nodes: runtime, archive, secrets, the agent's deploy.

Deploy, rollback, aliases and `node sync` all place versions the same way; they differ
only in what they record afterwards, so the node side lives here once. A version is
either activated (it becomes what a plain call gets there) or only loaded (an alias's
canary, `NAME@N`): the agent keeps several loaded, each with its own warm pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faasctl_agent import kinds

from ..errors import AgentError
from . import artifacts, fanout, runtimes
from . import secrets as fnsecrets
from .context import Context

RUNTIME_KEYS = ("image", "path", "dependencies", "run", "handler", "runner")


def agent_args(name: str, digest: str, version: int, kind: str, handler: str, rt: dict[str, Any],
               policy: dict[str, Any], config: dict[str, Any], activate: bool = True) -> dict[str, Any]:
    """The agent's `deploy` request for one version (its policy without placement and pins,
    which stay on the operator's side)."""
    args = {"function": name, "digest": digest, "mode": "command" if kind == kinds.COMMAND else "handler",
            "handler": handler, "kind": kind, "version": version, "activate": activate,
            "runtime": {k: rt[k] for k in RUNTIME_KEYS},
            **{k: v for k, v in policy.items() if k not in ("placement", "pin")}, **config}
    if rt.get("stem_cells") is not None:
        args["stem_cells"] = rt["stem_cells"]
    return args


def check_runner_echo(node: str, runner: str, reply: dict[str, Any]) -> None:
    """The agent says which runner it will start; one older than runners says none and
    would start Python's in a Node image, so such a deploy fails with what to do."""
    if reply.get("runner", "python") != runner:
        raise AgentError(f"node {node}'s agent cannot start the {runner} runner",
                         f"upgrade it: faasctl node upgrade {node}")


def place(ctx: Context, node: dict[str, Any], rt: dict[str, Any], args: dict[str, Any],
          progress: Callable[[str], None] = lambda _step: None) -> dict[str, Any]:
    """One version onto one node; the agent's reply. Each step is skipped where done already
    (the image present, the archive there), so placing a version a node holds is instant."""
    progress("runtime image")
    runtimes.ensure_on_node(ctx, rt, node)
    progress("push archive")
    artifacts.push(ctx, node, args["digest"])
    if args["secrets"]:
        progress("secrets")
        fnsecrets.push(ctx, node, args["secrets"])
    progress("install and load")
    reply: dict[str, Any] = ctx.client(node).request("deploy", args, timeout=1800)
    name = node["name"]
    if (args["env"] or args["secrets"]) and not reply.get("configured"):
        raise AgentError(f"the agent on node {name} is older than this faasctl and ignores --env "
                         "and --secret", f"upgrade it: faasctl node upgrade {name}, then deploy again")
    if reply.get("kind", kinds.NATIVE if args["mode"] == "handler" else kinds.COMMAND) != args["kind"]:
        raise AgentError(f"node {name}'s agent does not know kind {args['kind']}",
                         f"upgrade it: faasctl node upgrade {name}")  # an agent older than kinds
    if not args.get("activate", True) and reply.get("active") is None:
        raise AgentError(f"node {name}'s agent holds one version per function only",
                         f"upgrade it: faasctl node upgrade {name}")  # it would have made it current
    check_runner_echo(str(name), str(args["runtime"]["runner"]), reply)
    return reply


def everywhere(ctx: Context, rt: dict[str, Any], args: dict[str, Any], targets: list[dict[str, Any]],
               raise_single: bool = True) -> tuple[dict[str, Any], list[fanout.Outcome]]:
    """`place` on each node, several in parallel, each on its own: the replies of those that
    took it, and the outcomes of those that failed.

    With one node (and `raise_single`) its error is raised as is, with its own exit code.
    With several, every node that took the version counts even if others failed; none
    taking it is an AgentError."""
    if len(targets) == 1 and raise_single:
        return {targets[0]["name"]: place(ctx, targets[0], rt, args)}, []
    outcomes = fanout.run(targets, lambda n: str(n["name"]), lambda n, step: place(ctx, n, rt, args, step), total=4)
    results = {o.name: o.value for o in outcomes if o.ok}
    failed = [o for o in outcomes if not o.ok]
    if not results:
        raise AgentError("the deploy failed on every node: " + "; ".join(f"{o.name}: {o.error}" for o in failed),
                         failed[0].hint or "check the nodes with `faasctl node list`")
    return results, failed


def failures(failed: list[fanout.Outcome]) -> str:
    return "; ".join(f"{o.name}: {o.error}" for o in failed)
