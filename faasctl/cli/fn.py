"""`faasctl fn`: deploy, list and remove functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from ..core.policy import Spec, with_options
from . import fnversions
from .output import emit_json, ms, table

app = typer.Typer(help="Deploy, list and remove functions; their versions, rollbacks and aliases.",
                  no_args_is_help=True)


def _option(spec: Spec) -> tuple[Any, Any]:
    """A typer option for one policy field: its flag, help, bounds and default from the model."""
    if spec.kind is bool:
        return Optional[bool], typer.Option(None, f"{spec.option}/--no-{spec.option[2:]}", help=spec.describe())
    if spec.kind is list:
        return Optional[List[str]], typer.Option(None, spec.option, help=spec.describe())
    kind = str if spec.choices else spec.kind
    return Optional[kind], typer.Option(None, spec.option, help=spec.describe(), show_default=False)


@app.command("deploy")
@with_options(_option)
def deploy(
    name: str = typer.Argument(..., help="Function name."),
    source: Path = typer.Argument(..., help="Folder, .zip or .tar.gz with the code (and requirements.txt)."),
    runtime: str = typer.Option(..., "--runtime", "-r", help="Runtime to run it in."),
    handler: str = typer.Option("", help="The entry point: MODULE:FUNCTION for native, MODULE.FUNCTION for lambda "
                                "and openfaas(-http), a function name for openwhisk (each kind has a default)."),
    kind: str = typer.Option("", "--kind", "-k", help="Calling contract: native (handle(params), the default with "
                             "--handler), command (the runtime's run command, the default without), lambda, "
                             "openwhisk, openfaas or openfaas-http (each as on its platform; docs/functions.md); "
                             "Node.js: command, native or lambda (index.handler; docs/node.md)."),
    json_out: bool = typer.Option(False, "--json", help="Print the function as JSON."),
    env: List[str] | None = typer.Option(None, "--env", "-e", help="KEY=VALUE in the function's environment "
                                            "(repeat it; given, it replaces the current version's)."),
    secret: List[str] | None = typer.Option(None, "--secret", help="A secret the function reads as "
                                               "/var/run/secrets/faasctl/NAME (repeat it; given, it replaces the "
                                               "current version's). Set it first: faasctl secret set NAME."),
    no_env: bool = typer.Option(False, "--no-env", help="Deploy without the current version's environment."),
    no_secrets: bool = typer.Option(False, "--no-secrets", help="Deploy without the current version's secrets."),
    keep_versions: int | None = typer.Option(None, "--keep-versions", help="How many versions the nodes keep "
                                                "loaded for instant rollback (default 5; older ones are removed "
                                                "from the nodes, never from the state)."),
    policy: dict[str, Any] | None = None,
) -> None:
    """Check the archive, push it to the nodes, install its requirements, make it callable.

    Deploying the same code again changes nothing and sends nothing. Without --env or
    --secret the current version's environment and secrets are kept; a change to either
    is a new version.
    """
    from ..core import fanout, functions
    from ..core.context import Context
    from ..core.names import key_values
    from ..errors import InvalidInput
    from .progress import reporter

    if (no_env and env) or (no_secrets and secret):
        raise InvalidInput("--no-env goes without --env, and --no-secrets without --secret",
                           "give the variables or secrets to keep, or the --no-... flag alone")
    variables = {} if no_env else key_values(env, "--env", "--env MODE=fast") if env else None
    names = [] if no_secrets else list(secret) if secret else None

    policy = dict(policy or {})
    if not policy.get("pin"):  # typer gives an empty list for no --pin: keep the pins, as before
        policy.pop("pin", None)
    print(f"  deploying {name} from {source}...", file=sys.stderr, flush=True)
    with fanout.reporting(reporter()):  # a deploy to several nodes reports each node
        data = functions.deploy(Context(), name, source, runtime, handler=handler, policy=policy, kind=kind,
                                env=variables, secrets=names, keep_versions=keep_versions)
    if json_out:
        emit_json(data)
        return
    state = "deployed" if data["changed"] else "unchanged"
    deps = ", ".join(f"{n}: deps {r['dependencies']}" for n, r in data["nodes"].items())
    print(f"function {name} {state}: version {data['version']} ({data['digest'][:12]}, {data['kind']}) on {deps}")
    if data["live"] not in (None, data["version"]):
        print(f"  alias live still names version {data['live']}, which plain calls get; move it with: "
              f"faasctl fn alias {name} live --version {data['version']}", file=sys.stderr)
    fnversions._freed(data["gc"])


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Functions with their policy, nodes, calls, errors and latency."""
    from ..core import listing  # plain sqlite3: no ORM import for a listing
    from ..core.context import Context

    rows = listing.all_functions(Context(), live=True)
    if json_out:
        emit_json(rows)
        return
    table(["name", "runtime", "ver", "kind", "preload", "placement", "warm per node", "calls", "errors", "p50 ms",
           "p99 ms"],
          [[r["name"], r["runtime_name"], r["version"], r["kind"], r["policy"].get("preload", "default"),
            r["placement"], ",".join(f"{n}:{w}" for n, w in r["warm"].items()), r["calls"], r["errors"],
            ms(r["p50_ms"]), ms(r["p99_ms"])] for r in rows],
          empty="no functions yet; deploy one with: faasctl fn deploy NAME PATH --runtime R")


@app.command("rm")
def rm(name: str) -> None:
    """Remove a function from every node and from the state (its calls are kept)."""
    from ..core import functions
    from ..core.context import Context

    functions.remove(Context(), name)
    print(f"function {name} removed")


fnversions.register(app)
