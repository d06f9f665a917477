"""The dashboard App: three views over one Source, refreshed live, and the actions.

Refreshes run as async workers on textual's loop; the source does its blocking work in
threads (see source.py), so the screen never waits on a node. Each kind of refresh
(nodes and functions every 2 s, the calls tail every 1 s) is skipped while its previous
run is still going, so a slow node cannot pile refreshes up. Any error from the source
becomes a status line and a notification; none ends the app.

Views never call the source: they post `Requested`, and the App confirms, acts and
refreshes. That keeps every change to the platform in one place (`_act`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from . import rows
from .call_detail import CallDetail
from .calls import CallsView
from .confirm import Confirm
from .functions import FunctionsView
from .help import Help
from .invoke_form import InvokeForm
from .nodes import NodesView
from .policy_form import PolicyForm
from .source import Source
from .table import Requested

SLOW_EVERY = 2.0  # nodes and functions
CALLS_EVERY = 1.0  # the calls tail
TAIL = 200  # calls shown in the tail
RECENT = 1000  # calls read for the sparklines
CLOSE_WITHIN = 10.0  # seconds the source gets to close on quit


class DashboardApp(App[None]):
    TITLE = "faasctl dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "leave", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("i", "invoke", "Invoke"),
        Binding("r", "refresh_now", "Refresh", show=False),
        Binding("1", "tab('nodes')", "Nodes", show=False),
        Binding("2", "tab('functions')", "Functions", show=False),
        Binding("3", "tab('calls')", "Calls", show=False),
    ]
    CSS = """
    #status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    #status.error { color: $error; }
    #tabs { height: 1fr; }
    TabPane { padding: 0; height: 1fr; }
    TabPane > * { height: 1fr; }
    """

    def __init__(self, source: Source, clock: Callable[[], float] = time.time, live: bool = True) -> None:
        """`clock` and `live=False` make snapshots deterministic: a fixed now, one load, no timers."""
        super().__init__()
        self.source = source
        self.clock = clock
        self.live = live
        self.sub_title = source.label
        self.loads = {"slow": 0, "calls": 0}  # finished refreshes of each kind (tests wait on these)
        self._busy = {"slow": False, "calls": False}
        self._errors = {"slow": "", "calls": ""}
        self._summary = ""
        self._status_line = ""
        self._notified = ""
        self.functions: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="nodes", id="tabs"):
            with TabPane("1 Nodes", id="nodes"):
                yield NodesView(id="nodes-view")
            with TabPane("2 Functions", id="functions"):
                yield FunctionsView(clock=self.clock, id="functions-view")
            with TabPane("3 Calls", id="calls"):
                yield CallsView(clock=self.clock, id="calls-view")
        yield Static("loading…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_slow()
        self.refresh_calls()
        if self.live:
            self.set_interval(SLOW_EVERY, self.refresh_slow)
            self.set_interval(CALLS_EVERY, self.refresh_calls)

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):  # quitting: nothing left to show an error on
            await asyncio.wait_for(self.source.close(), CLOSE_WITHIN)

    # -- refreshing ------------------------------------------------------------------

    def refresh_slow(self) -> None:
        self._start("slow", self._load_slow)

    def refresh_calls(self) -> None:
        self._start("calls", self._load_calls)

    def _start(self, kind: str, load: Callable[[], Awaitable[None]]) -> None:
        if self._busy[kind]:
            return  # the previous refresh is still running: skip this tick
        self._busy[kind] = True
        self.run_worker(self._guarded(kind, load), group=kind, exit_on_error=False)

    async def _guarded(self, kind: str, load: Callable[[], Awaitable[None]]) -> None:
        try:
            await load()
            self._errors[kind] = ""
        except Exception as exc:  # noqa: BLE001  # shown, never fatal
            self._errors[kind] = rows.problem(exc, " — ")
        finally:
            self._busy[kind] = False
            self.loads[kind] += 1
        self._show_status()

    async def _load_slow(self) -> None:
        nodes, functions, recent = await asyncio.gather(
            self.source.nodes(), self.source.functions(), self.source.calls(limit=RECENT))
        self.functions = {str(f["name"]): f for f in functions}
        self.query_one(NodesView).show(nodes)
        self.query_one(FunctionsView).show(functions, recent)
        down = sum(1 for n in nodes if not n.get("up"))
        self._summary = (f"{len(nodes)} node{'s' * (len(nodes) != 1)}" + (f" ({down} down)" if down else "")
                         + f", {len(functions)} function{'s' * (len(functions) != 1)}")

    async def _load_calls(self) -> None:
        view = self.query_one(CallsView)
        calls = await self.source.calls(function=view.function_filter, status=view.status_filter, limit=TAIL)
        view.show(calls)

    def _show_status(self) -> None:
        status = self.query_one("#status", Static)
        problem = "; ".join(dict.fromkeys(e for e in self._errors.values() if e))
        status.set_class(bool(problem), "error")
        line = escape(f"error: {problem}" if problem else self._summary or "no data yet")
        if line != self._status_line:  # unchanged: no redraw (an idle dashboard stays idle)
            self._status_line = line
            status.update(line)
        if problem and problem != self._notified:
            self.notify(problem, title="source", severity="error", timeout=6)
        self._notified = problem

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """The active view's table takes the focus, so its keys work and show in the footer."""
        tables = event.pane.query(DataTable)
        if tables:
            tables.first().focus()

    def on_calls_view_filtered(self, _: CallsView.Filtered) -> None:
        self.refresh_calls()

    def action_refresh_now(self) -> None:
        self.refresh_slow()
        self.refresh_calls()

    # -- screens and actions ------------------------------------------------------------

    MAIN_ONLY = frozenset({"leave", "help", "invoke", "tab", "refresh_now"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In a form or window these keys belong to it: `q` or `i` typed there neither quits
        nor stacks another form (Ctrl-C still quits)."""
        return action not in self.MAIN_ONLY or len(self.screen_stack) == 1

    def action_leave(self) -> None:
        self.exit()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_help(self) -> None:
        self.push_screen(Help())

    def action_invoke(self, function: str = "") -> None:
        self.push_screen(InvokeForm(self.source, sorted(self.functions), function),
                         lambda _: self.action_refresh_now())

    def on_requested(self, event: Requested) -> None:
        name, verb = event.name, event.verb
        if verb == "open-call":
            self.push_screen(CallDetail(self.source, int(name)))
        elif verb == "invoke":
            self.action_invoke(name)
        elif verb == "policy":
            policy = (self.functions.get(name) or {}).get("policy") or {}
            self.push_screen(PolicyForm(name, policy), lambda changed: self._confirm_policy(name, changed))
        elif verb == "remove-function":
            self._confirm(f"Remove function {name} from every node? Its calls stay in the history.", "Remove",
                          f"removed {name}", lambda: self.source.remove_function(name))
        elif verb in ("drain", "undrain"):
            drain = verb == "drain"
            question = (f"Drain node {name}? Placement gives it no new calls; running calls finish." if drain
                        else f"Undrain node {name}? Placement may give it calls again.")
            self._confirm(question, verb.capitalize(), f"{verb}ed {name}",
                          lambda: self.source.drain_node(name, drain))
        elif verb == "remove-node":
            self._confirm(f"Remove node {name}? Its agent is stopped and its containers are removed.", "Remove",
                          f"removed node {name}", lambda: self.source.remove_node(name))

    def _confirm_policy(self, name: str, changed: dict[str, Any] | None) -> None:
        if not changed:
            if changed is not None:
                self.notify("nothing changed")
            return
        listed = ", ".join(f"{k}={v}" for k, v in changed.items())
        self._confirm(f"Change the policy of {name}: {listed}?", "Change", f"policy of {name}: {listed}",
                      lambda: self.source.set_policy(name, changed))

    def _confirm(self, question: str, yes: str, done: str, act: Callable[[], Awaitable[Any]]) -> None:
        def answered(ok: bool | None) -> None:
            if ok:
                self.run_worker(self._act(done, act), group="act", exit_on_error=False)

        self.push_screen(Confirm(question, yes), answered)

    async def _act(self, done: str, act: Callable[[], Awaitable[Any]]) -> None:
        try:
            await act()
        except Exception as exc:  # noqa: BLE001  # shown, never fatal
            self.notify(rows.problem(exc), title="failed", severity="error")
        else:
            self.notify(done)
        self.action_refresh_now()
