"""The `faasctl` entry point: composes the sub-apps and maps errors to exit codes.

This is the one place where an exception becomes an exit status and a message: every
FaasctlError prints as `error: <what>` plus `hint: <what to do>` on stderr. `run` does it
inside an Environment (environment.py) and returns the status, so tests run the CLI in
process (tests/support/cli.py); `main` is the process's entry point around it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from .. import __version__
from .environment import Environment, current, using
from .lazy import Entry, lazy_root

# Every top-level command, in the order `faasctl --help` lists them: the module in
# faasctl/cli that defines it (its `app` sub-app, or its `register(app)`), and the first
# paragraph of its help. Only the module a command line names is imported (lazy.py);
# a new noun is one row here (tests/unit/test_cli_lazy.py checks the help matches).
COMMANDS = {
    "invoke": Entry("top", "Call a function and print its result (exit 9 if it failed, 10 if it timed out)."),
    "logs": Entry("top", "What the function wrote to stderr (and stdout in handler mode) during one call."),
    "serve": Entry("serve", "Serve the seed-compatible API and /v1 (OpenAPI at /openapi.json, docs at /docs)."),
    "dashboard": Entry("dashboard", "Show nodes, functions and calls live, and act on them, in the terminal."),
    "node": Entry("node", "Add, list and remove nodes (machines that run functions)."),
    "runtime": Entry("runtime", "Register and list runtimes (images functions run in)."),
    "fn": Entry("fn", "Deploy, list and remove functions; their versions, rollbacks and aliases."),
    "call": Entry("call", "List, get and wait for calls."),
    "secret": Entry("secret", "Set, list and remove secrets that functions read as files "
                     "(/var/run/secrets/faasctl/NAME)."),
    "operator": Entry("operator", "Authorise operators on every node: each keeps their own CURVE key pair "
                       "(FAASCTL_HOME/keys) and sends only the public half (`faasctl operator key`)."),
}

app = typer.Typer(
    name="faasctl",
    help="Self-hosted functions-as-a-service on your own Linux servers, driven from here.\n\n"
    "Quick start: faasctl node add local; faasctl runtime add python; "
    "faasctl fn deploy dice examples/dice --runtime python; faasctl invoke dice -p roll=4d6",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
lazy_root(app, COMMANDS)


def _version(value: bool) -> None:
    if value:
        print(__version__, file=current().stdout)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    state_url: str = typer.Option(
        "", "--state-url", metavar="URL", show_default=False,
        help="Keep the whole state in this PostgreSQL database (postgresql+psycopg://USER@HOST:PORT/DB), "
        "shared by a team's operators and serve processes; default: FAASCTL_STATE_URL, else the state file "
        "in FAASCTL_HOME. Keys and secrets stay in FAASCTL_HOME."),
) -> None:
    """faasctl: your functions, your servers."""
    if state_url:
        from ..config import state_url_option

        state_url_option.set(state_url)


def main() -> None:
    from .. import singlefile

    single = singlefile.venv()
    if single:
        singlefile.ensure_bytecode(single)
    sys.exit(run(sys.argv[1:], Environment()))


def run(args: Sequence[str], env: Environment) -> int:
    """Run one command line in `env`; the exit status, with any error printed to env.stderr."""
    from ..config import state_url_option
    from ..errors import ExitCode, FaasctlError

    err = env.stderr
    with using(env):
        token = state_url_option.set("")  # --state-url holds for this command line only
        try:
            status = app(args=list(args), prog_name=env.program, standalone_mode=False)
        except FaasctlError as exc:
            print(f"error: {exc.message}", file=err)
            if exc.hint:
                print(f"hint: {exc.hint}", file=err)
            return int(exc.exit_code)
        except KeyboardInterrupt:
            print("interrupted", file=err)
            return int(ExitCode.INTERRUPTED)
        except typer.Exit as exc:
            return int(exc.exit_code)
        except typer.Abort:
            return int(ExitCode.INTERRUPTED)
        except Exception as exc:  # click's usage errors arrive here in non-standalone mode
            if not isinstance(exc, _usage_errors()):
                raise
            ctx = getattr(exc, "ctx", None)  # its path starts "python -m faasctl" when run that way
            command = "faasctl" + (ctx.command_path[len(ctx.find_root().info_name or ""):] if ctx else "")
            hint = f"see `{command} --help`"
            if "--" in args:
                hint += "; everything after `--` is an argument, so put options such as --runtime before it"
            print(f"error: {exc.format_message()}", file=err)  # type: ignore[attr-defined]
            print(f"hint: {hint}", file=err)
            return int(ExitCode.INVALID_INPUT)
        finally:
            state_url_option.reset(token)
    return status if isinstance(status, int) else 0


def _usage_errors() -> tuple[type[Exception], ...]:
    """click's ClickException, from click itself or from the copy newer typer vendors."""
    import importlib

    found: list[type[Exception]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except ImportError:
            continue
    return tuple(found)
