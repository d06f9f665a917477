"""One call in full: params, result, error, node, start kind, timings and its log.

It asks the source itself (`call`, `call_logs`) rather than reusing the tail's row, since
the row is cut to one line and has no log. While the call is unfinished it reloads every
second, so an async call can be watched until it ends.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from . import rows as fmt
from .source import Source


class CallDetail(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]
    DEFAULT_CSS = """
    CallDetail { align: center middle; }
    CallDetail > VerticalScroll { width: 100; max-width: 100%; height: 100%; border: thick $primary;
                                  padding: 0 1; background: $surface; }
    """

    def __init__(self, source: Source, num: int) -> None:
        super().__init__()
        self.source = source
        self.num = num
        self.call: dict[str, Any] | None = None
        self.call_log = ""
        self._loading = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"call {self.num}: loading…", id="detail")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = f"call {self.num} (Esc closes)"
        self.reload()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self.call is not None and self.call.get("status") in fmt.UNFINISHED:
            self.reload()

    def reload(self) -> None:
        if not self._loading:
            self._loading = True
            self.run_worker(self._load(), exit_on_error=False)

    async def _load(self) -> None:
        try:
            self.call = await self.source.call(self.num)
            self.call_log = await self.source.call_logs(self.num)
            text = render(self.call, self.call_log)
        except Exception as exc:  # noqa: BLE001  # a source bug must not take the screen down
            text = fmt.problem_markup(exc)
        finally:
            self._loading = False
        self.query_one("#detail", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)


def render(call: dict[str, Any], log: str) -> str:
    """The call as markup; every value from the source is escaped."""

    def field(label: str, value: Any) -> str:
        return f"[b]{label:<10}[/b] {escape(str(value))}"

    def when(stamp: float | None) -> str:
        return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))

    params = json.dumps(call.get("params"), indent=2, ensure_ascii=False)
    lines = [
        field("function", f"{call.get('funcName')} (version {call.get('version', '-')})"),
        field("status", call.get("status")) + ("  (async)" if call.get("async") or call.get("is_async") else ""),
        field("node", call.get("node") or "-"),
        field("start", call.get("startKind") or "-"),
        field("timings", f"queue {fmt.number(call.get('queueMs'), ' ms')}, "
              f"start {fmt.number(call.get('startMs'), ' ms')}, run {fmt.number(call.get('runMs'), ' ms')}"),
        field("created", when(call.get("createdAt"))),
        field("finished", when(call.get("finishedAt"))),
        "",
        "[b]params[/b]",
        escape(params),
        "",
        "[b]result[/b]",
        escape(str(call.get("result") or "")) or "(none)",
    ]
    if call.get("error"):
        lines += ["", "[b red]error[/b red]", escape(str(call["error"]))]
    lines += ["", "[b]log[/b]", escape(log) if log.strip() else "(empty)"]
    return "\n".join(lines)
