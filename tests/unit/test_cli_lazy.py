"""The root's table of commands (cli/main.py COMMANDS) against the real sub-apps: the
root lists them from the table without importing them, so the table must say what the
commands themselves say, and the listing must be the one typer would write."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.core import TyperGroup

from faasctl.cli.main import COMMANDS, app


def _root(width: int) -> tuple[TyperGroup, typer.Context]:
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return group, typer.Context(group, info_name="faasctl", terminal_width=width)


def _first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n")[0].split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_table_help_is_the_commands_own(name: str) -> None:
    group, ctx = _root(80)
    command = group.get_command(ctx, name)
    assert command is not None and command.name == name
    assert not command.hidden and not command.deprecated and not command.short_help
    assert _first_paragraph(command.help or "") == _first_paragraph(COMMANDS[name].help), (
        f"update COMMANDS[{name!r}] in faasctl/cli/main.py to the first paragraph of its help")


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_listing_is_what_typer_writes_from_the_loaded_commands(width: int) -> None:
    group, ctx = _root(width)
    lazy = group.get_help(ctx)
    for name in COMMANDS:  # load every command, then let typer's own listing write them
        group.get_command(ctx, name)
    formatter = ctx.make_formatter()
    TyperGroup.format_commands(group, ctx, formatter)
    assert lazy.endswith(formatter.getvalue().rstrip("\n"))  # the listing is the last section
    assert list(group.commands) == list(COMMANDS)


def test_sub_apps_keep_the_roots_plain_help() -> None:
    """Loaded alone, a sub-app still gets the root's rich_markup_mode=None (as add_typer
    gave it), not typer's default of rich: the same help text, and no rich import."""
    code = ("import sys; from faasctl.cli.main import run; from faasctl.cli.environment import Environment; "
            "run(['call', 'list', '--help'], Environment()); print(sorted(m for m in sys.modules if m == 'rich'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage: " in out and "--function" in out and "╭" not in out
    assert out.rstrip().endswith("[]")


def test_a_command_line_imports_only_the_module_it_names() -> None:
    code = ("import sys; from faasctl.cli.main import run; from faasctl.cli.environment import Environment; "
            "run(['call', '--help'], Environment()); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('faasctl.cli.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(out.splitlines()[-1].split())
    modules = {f"faasctl.cli.{entry.module}" for entry in COMMANDS.values()}
    assert loaded & modules == {"faasctl.cli.call"}


def test_a_mistyped_command_still_gets_suggestions() -> None:
    import io

    from faasctl.cli.environment import Environment
    from faasctl.cli.main import run

    err = io.StringIO()
    assert run(["nope"], Environment(stdout_stream=io.StringIO(), stderr_stream=err, program="faasctl")) == 2
    assert "No such command 'nope'. Did you mean 'node', 'invoke'?" in err.getvalue()


def test_commands_registered_on_the_root_itself_still_work() -> None:
    """A branch that adds `app.add_typer(...)` or `@app.command` to the root instead of a
    row in COMMANDS gets an eager command, listed after the table's, not a lost one."""
    from typer.testing import CliRunner

    from faasctl.cli.lazy import lazy_root

    root, extra = typer.Typer(rich_markup_mode=None), typer.Typer(help="A sub-app added with add_typer.")

    @root.command("hello")
    def hello() -> None:
        """Say hello. Then more words than fit."""
        print("hello")

    @extra.command("x")
    def x() -> None:
        """The x."""

    root.add_typer(extra, name="extra")
    lazy_root(root, {"call": COMMANDS["call"]})
    runner = CliRunner()
    shown = runner.invoke(root, ["--help"], terminal_width=80)
    assert shown.exit_code == 0
    listing = shown.output[shown.output.index("Commands:"):].splitlines()[1:]
    assert [line.split()[0] for line in listing] == ["call", "hello", "extra"]
    assert "Say hello." in listing[1] and "A sub-app added with add_typer." in listing[2]
    assert runner.invoke(root, ["hello"]).output == "hello\n"
    assert runner.invoke(root, ["extra", "x"]).exit_code == 0
    assert "List, get and wait for calls." in runner.invoke(root, ["call", "--help"]).output
