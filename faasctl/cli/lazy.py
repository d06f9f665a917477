"""The root command group, loading each sub-app only when the command line names it.

Importing every CLI module (which pull in output, core.policy, the agent's policy...) and
having typer turn the whole tree into click commands cost about 8 + 5.5 ms at each start
on a quiet machine (docs/benchmarks.md), for one command used. So the root keeps a
table (main.COMMANDS): each top-level name with the module that defines it and the first
paragraph of its help. `faasctl --help` and usage errors list the table; `faasctl call
list` imports `call.py` alone and has typer convert only it, with the root's settings,
as `add_typer` would. tests/unit/test_cli_lazy.py keeps the table's help equal to the
real commands'.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from gettext import gettext as _
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup
from typer.main import get_group_from_info
from typer.models import TyperInfo

try:  # newer typer vendors click
    from typer._click.utils import make_default_short_help
except ImportError:  # pragma: no cover - older typer on plain click
    from click.utils import make_default_short_help  # type: ignore[no-redef,import-not-found,unused-ignore]


class Entry(NamedTuple):
    """One top-level command: `module` (in faasctl.cli) holds either `app`, a typer sub-app
    registered under the entry's name, or `register(app)`, which adds the command itself."""

    module: str
    help: str  # the first paragraph of the command's own help, as the root's listing shows it


class LazyCommands(MutableMapping[str, Any]):
    """click's `commands` mapping whose values are built on first use: typer's suggestions
    for a mistyped name read its keys, which costs nothing."""

    def __init__(self, table: Mapping[str, Entry], load: Callable[[str], dict[str, Any]],
                 built: Mapping[str, Any]) -> None:
        self.table, self.load = table, load
        self.built: dict[str, Any] = dict(built)

    def __getitem__(self, name: str) -> Any:
        if name not in self.built:
            if name not in self.table:
                raise KeyError(name)
            self.built.update(self.load(name))
        return self.built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        del self.built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.table
        yield from (name for name in self.built if name not in self.table)

    def __len__(self) -> int:
        return len(set(self.table) | set(self.built))


class LazyGroup(TyperGroup):
    """The root group: typer builds it with no commands; they come from `table` on demand."""

    table: Mapping[str, Entry] = {}
    root: typer.Typer  # its settings are handed to each sub-app, as add_typer's would be

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)  # commands registered on the root itself (add_typer, @app.command) stay, eager
        self.lazy = LazyCommands(self.table, self._load, self.commands)
        self.commands = self.lazy

    def _load(self, name: str) -> dict[str, Any]:
        """Import the module behind `name` and convert it as `add_typer`/`register` on the
        root would have (the root's rich_markup_mode and exception settings, not the
        sub-app's defaults); every command that module registers comes back."""
        module = importlib.import_module(f"{__package__}.{self.table[name].module}")
        holder = typer.Typer()
        if hasattr(module, "app"):
            holder.add_typer(module.app, name=name)
        else:
            module.register(holder)
        group = get_group_from_info(TyperInfo(holder), pretty_exceptions_short=self.root.pretty_exceptions_short,
                                    rich_markup_mode=self.root.rich_markup_mode,
                                    suggest_commands=self.root.suggest_commands)
        return dict(group.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The listing from the table, without importing a sub-app: the rows typer's
        format_commands would write (click's short help: the first sentence that fits)."""
        eager = {n: c for n, c in self.lazy.built.items() if n not in self.table and not c.hidden}
        names = [*self.table, *eager]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, make_default_short_help(entry.help, limit).strip()) for name, entry in self.table.items()]
        rows += [(name, command.get_short_help_str(limit)) for name, command in eager.items()]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


def lazy_root(app: typer.Typer, table: Mapping[str, Entry]) -> None:
    """Make `app`'s group a LazyGroup over `table` (what `typer.Typer(cls=...)` sets)."""
    app.info.cls = type("FaasctlGroup", (LazyGroup,), {"table": table, "root": app})
