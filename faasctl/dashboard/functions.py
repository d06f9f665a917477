"""The Functions view: each function's policy, warm containers, error rate and latency,
with sparklines of calls per second and latency for the highlighted one.

The table's figures (calls, errors, p50/p99) are the source's totals; the sparklines
are computed here from the recent calls the App hands over (rows.series), so they
need nothing beyond the Source protocol. `x` removes, `p` edits the policy, `i`
invokes the highlighted function. Latencies (p50, p99, the sparkline) are in ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Sparkline

from . import rows as fmt
from .table import Requested, current_key, fill

COLUMNS = ("Function", "Runtime", "Preload", "Placement", "Warm", "Calls", "Err", "p50", "p99")


class FunctionsView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "invoke", "Invoke"),
        Binding("p", "policy", "Policy"),
        Binding("x", "remove", "Remove fn"),
    ]
    DEFAULT_CSS = """
    FunctionsView DataTable { height: 1fr; }
    FunctionsView #trends { height: 30%; min-height: 3; }
    FunctionsView #warm { height: 1; padding: 0 1; }
    FunctionsView .trend { width: 1fr; padding: 0 1; }
    FunctionsView Sparkline { height: 1fr; }
    """

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.recent: list[Mapping[str, Any]] = []
        self.functions: dict[str, Mapping[str, Any]] = {}

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True, id="functions-table")
        table.add_columns(*COLUMNS)
        yield table
        yield Label("", id="warm")
        with Horizontal(id="trends"):
            with Vertical(classes="trend"):
                yield Label("calls/s, last 5 min", id="rate-label")
                yield Sparkline([], id="rate", summary_function=max)
            with Vertical(classes="trend"):
                yield Label("latency ms, last 5 min", id="latency-label")
                yield Sparkline([], id="latency", summary_function=max)

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#functions-table", DataTable)

    @property
    def selected(self) -> str | None:
        return current_key(self.table)

    def show(self, functions: Sequence[Mapping[str, Any]], recent: Sequence[Mapping[str, Any]]) -> None:
        self.functions = {str(f["name"]): f for f in functions}
        self.recent = list(recent)
        fill(self.table, [(str(f["name"]), cells(f)) for f in functions])
        self.draw_trends()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.draw_trends()

    def draw_trends(self) -> None:
        name = self.selected or ""
        rate, latency = fmt.series(self.recent, self.clock(), name)
        who = name or "all"
        self.query_one("#rate", Sparkline).data = rate
        self.query_one("#latency", Sparkline).data = latency
        function = self.functions.get(name)
        self._label("#rate-label", f"{who}: calls/s, last 5 min (peak {max(rate):.1f})")
        self._label("#latency-label", f"{who}: latency ms, last 5 min (peak {max(latency):.0f})")
        self._label("#warm", f"{who}: warm per node {fmt.warm_per_node(function)}" if function else "")

    def _label(self, selector: str, text: str) -> None:
        """Update only on a change: an idle dashboard redraws nothing."""
        label = self.query_one(selector, Label)
        if str(label.content) != text:
            label.update(text)

    def _request(self, verb: str) -> None:
        name = self.selected
        if name is not None:
            self.post_message(Requested(verb, name))

    def action_invoke(self) -> None:
        self._request("invoke")

    def action_policy(self) -> None:
        self._request("policy")

    def action_remove(self) -> None:
        self._request("remove-function")


def cells(function: Mapping[str, Any]) -> list[str]:
    return [
        f"{function['name']} v{function.get('version', '-')}",
        str(function.get("runtime_name", "-")),
        fmt.preload(function),
        fmt.placement(function),
        fmt.total(function.get("warm")),
        fmt.number(function.get("calls")),
        fmt.error_percent(function),
        fmt.number(function.get("p50_ms")),
        fmt.number(function.get("p99_ms")),
    ]
