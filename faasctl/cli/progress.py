"""Rendering core's progress (core/fanout.py's Reporter events) for a person or a log.

One live bar per node when stderr is a terminal (a person watching), and plain whole
lines (`  [web1]  3. check docker`) otherwise, so CI logs, pipes and scripts that read
them see exactly what they always did. FAASCTL_PROGRESS=bars or =lines overrides the
terminal detection (environment.py). rich is imported only for the bars, so `faasctl
--help` stays light.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..core.fanout import Outcome, Reporter
from .environment import current

if TYPE_CHECKING:
    from rich.console import Console

_print_lock = threading.Lock()


def line(name: str, text: str) -> None:
    """One progress line per event, whole lines only even from many threads."""
    with _print_lock:
        print(f"  [{name}] {text}", file=current().stderr, flush=True)


def end_text(o: Outcome) -> str:
    return f"done in {o.seconds:.1f} s" if o.ok else f"FAILED: {o.error}"


def reporter(console: Console | None = None) -> Reporter:
    """Bars or lines, as the environment wants; `console` is where bars go (tests pass one)."""
    return Bars(console) if current().progress_bars else Lines()


class Lines(Reporter):
    def start(self, names: list[str], total: int | None) -> None:
        self.names = names

    def step(self, index: int, count: int, text: str) -> None:
        line(self.names[index], f"{count:>2}. {text}")

    def end(self, index: int, outcome: Outcome) -> None:
        line(outcome.name, end_text(outcome))


class Bars(Reporter):
    """One live bar per node: name, bar, k/N, current step, then its result.

    Failures are printed again as plain lines once the display has stopped, so the
    whole error stays in the scrollback whatever the terminal's width.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console

    def start(self, names: list[str], total: int | None) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.table import Column

        self.out = self.console or Console(file=current().stderr)
        self.total = total
        self.bars = Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[status]}",
                                        table_column=Column(no_wrap=True, overflow="ellipsis")),
                             console=self.out)
        self.tasks = [self.bars.add_task(escape(name), total=total, status="[dim]waiting") for name in names]
        self.counts = [0] * len(names)  # each index is written by its own thread only
        self.bars.start()

    def step(self, index: int, count: int, text: str) -> None:
        from rich.markup import escape

        self.counts[index] = count
        total = max(self.total, count) if self.total else None
        self.bars.update(self.tasks[index], completed=count, total=total, status=escape(text))

    def end(self, index: int, outcome: Outcome) -> None:
        from rich.markup import escape

        if outcome.ok:
            done = max(self.total or 0, self.counts[index]) or 1
            self.bars.update(self.tasks[index], completed=done, total=done, status=f"[green]{end_text(outcome)}")
        else:
            self.bars.update(self.tasks[index], status=f"[red]FAILED:[/] {escape(outcome.error)}")

    def stop(self, outcomes: list[Outcome]) -> None:
        self.bars.stop()
        for o in outcomes:
            if not o.ok:
                self.out.print(f"  [{o.name}] {end_text(o)}", markup=False, highlight=False, soft_wrap=True)
