"""The invoke form: pick a function, type its params, call it sync or async, and see the
status, result and round-trip time without leaving the dashboard.

Params are read as the CLI reads them: JSON (like `--data`) when the text is JSON,
otherwise space-separated KEY=VALUE pairs (like `-p`), checked by the same
`core.names.key_values`. A failed call is a result here (status ERROR or TIMEOUT), not an
error: only a call that could not be made shows as one.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ..core.names import key_values
from ..errors import FaasctlError, InvalidInput
from .rows import problem_markup
from .source import Source


def parse_params(text: str) -> Any:
    """JSON if it parses as JSON, else KEY=VALUE pairs (shell quoting allowed); empty is {}."""
    text = text.strip()
    if not text:
        return {}
    if text[0] in "{[\"" or text in ("null", "true", "false") or text.lstrip("-").replace(".", "", 1).isdigit():
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"params are not valid JSON: {exc}", 'write {"roll": "4d6"} or roll=4d6') from exc
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidInput(f"params: {exc}", "close the quote") from exc
    return key_values(words, "parameter", "roll=4d6")


class InvokeForm(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    InvokeForm { align: center middle; }
    InvokeForm > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 100%;
                                  border: thick $primary; padding: 0 1; background: $surface; }
    InvokeForm Horizontal { height: auto; }
    InvokeForm #function { width: 1fr; }
    InvokeForm #params { margin-bottom: 1; }
    InvokeForm #outcome { margin-top: 1; }
    """

    def __init__(self, source: Source, functions: Sequence[str], function: str = "") -> None:
        super().__init__()
        self.source = source
        self.functions = list(functions)
        self.function = function if function in self.functions else (self.functions[0] if self.functions else "")
        self.record: dict[str, Any] | None = None  # the last call's record, for tests and the detail
        self.running = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            with Horizontal():
                yield Select([(f, f) for f in self.functions], value=self.function or Select.NULL,
                             prompt="function", id="function")
                yield Checkbox("async", id="async")
            yield Label('params: JSON ({"roll": "4d6"}) or KEY=VALUE pairs (roll=4d6)')
            yield Input(placeholder="roll=4d6", id="params")
            yield Button("Invoke (Enter)", variant="primary", id="invoke")
            yield Static("", id="outcome")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "Invoke (Esc closes)"
        self.query_one("#params", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        if self.running:
            return
        function = self.query_one("#function", Select).value
        outcome = self.query_one("#outcome", Static)
        if not isinstance(function, str):
            outcome.update("[red]pick a function first[/red]")
            return
        try:
            params = parse_params(self.query_one("#params", Input).value)
        except FaasctlError as exc:
            outcome.update(problem_markup(exc))
            return
        is_async = self.query_one("#async", Checkbox).value
        self.running = True
        outcome.update(f"calling {escape(function)}…")
        self.run_worker(self._invoke(function, params, is_async), exit_on_error=False)

    async def _invoke(self, function: str, params: Any, is_async: bool) -> None:
        started = time.monotonic()
        try:
            record = await self.source.invoke(function, params, is_async)
        except Exception as exc:  # noqa: BLE001  # shown, never fatal
            text = problem_markup(exc)
        else:
            self.record = record
            text = outcome_text(record, time.monotonic() - started)
        finally:
            self.running = False
        self.query_one("#outcome", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)


def outcome_text(record: dict[str, Any], seconds: float) -> str:
    status = str(record.get("status", ""))
    colour = {"DONE": "green", "PENDING": "yellow", "RUNNING": "yellow"}.get(status, "red")
    lines = [f"call {record.get('callNum')}: [{colour}]{escape(status)}[/{colour}] on "
             f"{escape(str(record.get('node') or '-'))}, round trip {seconds * 1000:.0f} ms"]
    if record.get("result"):
        lines += ["[b]result[/b]", escape(str(record["result"]))]
    if record.get("error"):
        lines += ["[b red]error[/b red]", escape(str(record["error"]))]
    return "\n".join(lines)
