"""The Nodes view: is each node reachable, how busy, how much is warm, is it drained.

`d` drains or undrains the highlighted node and `x` removes it; both go up to the App
as `Requested` messages, which asks for confirmation before acting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable

from . import rows as fmt
from .table import Requested, current_key, fill

COLUMNS = ("Node", "State", "Agent", "Running", "Load", "Warm", "Stem cells", "Note")


class NodesView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "drain", "Drain/undrain"),
        Binding("x", "remove", "Remove node"),
    ]
    DEFAULT_CSS = """
    NodesView DataTable { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drained: dict[str, bool] = {}

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True, id="nodes-table")
        table.add_columns(*COLUMNS)
        yield table

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#nodes-table", DataTable)

    def show(self, nodes: Sequence[Mapping[str, Any]]) -> None:
        self.drained = {str(n["name"]): bool(n.get("drained")) for n in nodes}
        fill(self.table, [(str(n["name"]), cells(n)) for n in nodes])

    def action_drain(self) -> None:
        name = current_key(self.table)
        if name is not None:
            self.post_message(Requested("undrain" if self.drained.get(name) else "drain", name))

    def action_remove(self) -> None:
        name = current_key(self.table)
        if name is not None:
            self.post_message(Requested("remove-node", name))


def cells(node: Mapping[str, Any]) -> list[str | Text]:
    state = fmt.node_state(node)
    note = node.get("last_error") or node.get("error") or ""
    return [
        str(node["name"]),
        fmt.coloured(state),
        str(node.get("agent_version") or "-"),
        fmt.number(node.get("running")),
        fmt.load(node),
        fmt.counts(node.get("warm")),
        fmt.counts(node.get("stem_cells")),
        fmt.one_line(note, 40),
    ]
