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
from . import call, dashboard, fn, node, operator, runtime, secret, serve, top
from .environment import Environment, current, using

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
app.add_typer(node.app, name="node")
app.add_typer(runtime.app, name="runtime")
app.add_typer(fn.app, name="fn")
app.add_typer(call.app, name="call")
app.add_typer(secret.app, name="secret")
app.add_typer(operator.app, name="operator")
top.register(app)
serve.register(app)
dashboard.register(app)


def _version(value: bool) -> None:
    if value:
        print(__version__, file=current().stdout)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """faasctl: your functions, your servers."""


def main() -> None:
    from .. import singlefile

    single = singlefile.venv()
    if single:
        singlefile.ensure_bytecode(single)
    sys.exit(run(sys.argv[1:], Environment()))


def run(args: Sequence[str], env: Environment) -> int:
    """Run one command line in `env`; the exit status, with any error printed to env.stderr."""
    from ..errors import ExitCode, FaasctlError

    err = env.stderr
    with using(env):
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
