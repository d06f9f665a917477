"""The `?` screen: every key binding in one place, since the footer shows only those of
the focused view."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("Anywhere", (
        ("1 / 2 / 3", "Nodes, Functions, Calls"),
        ("i", "invoke a function (the form)"),
        ("r", "refresh now"),
        ("?", "this help"),
        ("q, Ctrl-C", "quit"),
        ("Esc", "close a form or window"),
    )),
    ("Nodes", (
        ("d", "drain or undrain the node (asks first)"),
        ("x", "remove the node (asks first)"),
    )),
    ("Functions", (
        ("i", "invoke the highlighted function"),
        ("p", "change its policy (asks first)"),
        ("x", "remove it (asks first)"),
    )),
    ("Calls", (
        ("Enter", "open the call: params, result, error, timings, log"),
        ("/", "filter by function; Tab to the status filter"),
    )),
)


def help_text() -> str:
    lines = ["[b]faasctl dashboard[/b]: nodes, functions and calls, refreshed live.", ""]
    for title, keys in KEYS:
        lines.append(f"[b]{title}[/b]")
        lines.extend(f"  [b]{key:<10}[/b] {what}" for key, what in keys)
        lines.append("")
    lines.append("Arrows or the mouse move the cursor; Tab moves between fields.")
    return "\n".join(lines)


class Help(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]
    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > VerticalScroll { width: 70; max-width: 100%; height: auto; max-height: 100%; border: thick $primary;
                            padding: 0 1; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_text())

    def action_close(self) -> None:
        self.dismiss(None)
