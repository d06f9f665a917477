"""The Calls view: a live tail of calls across all nodes, newest first, filterable by
function and status; Enter opens the highlighted call.

The filters are read by the App at each refresh and passed to `Source.calls`, so a
filtered tail still reaches calls older than the unfiltered window; changing one posts
`CallsView.Filtered` so the App refreshes at once instead of at the next tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from faasctl_agent.protocol import STATUSES
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Select

from . import rows as fmt
from .table import Requested, current_key, fill

COLUMNS = ("#", "Function", "Status", "Node", "Start", "Queue ms", "Run ms", "Age", "Result / error")


class CallsTable(DataTable[Any]):
    """The tail's table: its Enter (select the row, which opens the call) shows in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open call")]


class CallsView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "filter", "Filter")]
    DEFAULT_CSS = """
    CallsView #filters { height: 1; }
    CallsView #function-filter { width: 1fr; }
    CallsView #status-filter { width: 24; }
    CallsView DataTable { height: 1fr; }
    """

    class Filtered(Message):
        """A filter changed: refresh now."""

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Input(placeholder="/ filter: function (empty: all)", compact=True, id="function-filter")
            yield Select([(s, s) for s in STATUSES], prompt="any status", compact=True, id="status-filter")
        table = CallsTable(cursor_type="row", zebra_stripes=True, id="calls-table")
        table.add_columns(*COLUMNS)
        yield table

    @property
    def table(self) -> CallsTable:
        return self.query_one("#calls-table", CallsTable)

    @property
    def function_filter(self) -> str:
        return self.query_one("#function-filter", Input).value.strip()

    @property
    def status_filter(self) -> str:
        value = self.query_one("#status-filter", Select).value
        return value if isinstance(value, str) else ""

    def show(self, calls: Sequence[Mapping[str, Any]]) -> None:
        now = self.clock()
        fill(self.table, [(str(c["callNum"]), cells(c, now)) for c in calls])

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Filtered())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Filtered())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        num = current_key(self.table)
        if num is not None:
            self.post_message(Requested("open-call", num))

    def action_filter(self) -> None:
        self.query_one("#function-filter", Input).focus()


def cells(call: Mapping[str, Any], now: float) -> list[str | Text]:
    outcome = call.get("error") or call.get("result") or ""
    return [
        str(call["callNum"]),
        str(call.get("funcName", "")),
        fmt.coloured(str(call.get("status", ""))),
        str(call.get("node") or "-"),
        str(call.get("startKind") or "-"),
        fmt.number(call.get("queueMs")),
        fmt.number(call.get("runMs")),
        fmt.age(call.get("finishedAt") or call.get("createdAt"), now),
        fmt.one_line(outcome, 48),
    ]
