"""Running one operation on many nodes at once, with a bounded number of connections.

Each node gets its own progress and its own outcome: a failure on one node is recorded
and reported, the others carry on, and the caller decides the exit status from the
outcomes (non-zero if any failed). Threads fit: the work is SSH and subprocess I/O.

Progress shows as one live bar per node when stderr is a terminal (a person watching),
and as plain whole lines (`  [web1]  3. check docker`) otherwise, so CI logs, pipes and
scripts that read them see exactly what they always did. FAASCTL_PROGRESS=bars or
FAASCTL_PROGRESS=lines overrides the terminal detection. rich is imported only for the
bars, so importing this module (and `faasctl --help`) stays light.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import FaasctlError

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
DEFAULT_PARALLEL = 10
_print_lock = threading.Lock()


@dataclass
class Outcome:
    name: str
    ok: bool
    value: Any = None
    error: str = ""
    hint: str = ""
    seconds: float = 0.0


def line(name: str, text: str) -> None:
    """One progress line per event, whole lines only even from many threads."""
    with _print_lock:
        print(f"  [{name}] {text}", file=sys.stderr, flush=True)


def wants_bars() -> bool:
    """Bars only for a person at a terminal, unless FAASCTL_PROGRESS says otherwise."""
    forced = os.environ.get("FAASCTL_PROGRESS", "").strip().lower()
    if forced in ("bars", "lines"):
        return forced == "bars"
    stream = sys.stderr
    return stream is not None and stream.isatty() and os.environ.get("TERM") != "dumb"


def run(items: list[T], name_of: Callable[[T], str], work: Callable[[T, Callable[[str], None]], Any],
        parallel: int = DEFAULT_PARALLEL, quiet: bool = False, total: int | None = None,
        console: Console | None = None) -> list[Outcome]:
    """Apply `work(item, progress)` to every item, at most `parallel` at a time.

    `total` is how many progress steps a node usually reports (the bar's length; a node
    that reports more grows its bar, one that finishes early completes it). `console`
    is where bars go (stderr by default); tests pass their own.
    """
    if not items:
        return []
    names = [name_of(item) for item in items]
    if quiet:
        return _pool(items, names, work, parallel, lambda _i, _k, _step: None, lambda _i, _o: None)
    if wants_bars():
        return _run_with_bars(items, names, work, parallel, total, console)
    return _pool(items, names, work, parallel,
                 lambda i, k, step: line(names[i], f"{k:>2}. {step}"),
                 lambda _i, o: line(o.name, _end_text(o)))


def _end_text(o: Outcome) -> str:
    return f"done in {o.seconds:.1f} s" if o.ok else f"FAILED: {o.error}"


def _pool(items: list[T], names: list[str], work: Callable[[T, Callable[[str], None]], Any], parallel: int,
          on_step: Callable[[int, int, str], None], on_end: Callable[[int, Outcome], None]) -> list[Outcome]:
    """The threads: each item's work with its own step counter; outcomes in input order."""

    def one(i: int) -> Outcome:
        steps = [0]

        def progress(step: str) -> None:
            steps[0] += 1
            on_step(i, steps[0], step)

        start = time.monotonic()
        try:
            outcome = Outcome(names[i], True, value=work(items[i], progress))
        except FaasctlError as exc:
            outcome = Outcome(names[i], False, error=exc.message, hint=exc.hint)
        except Exception as exc:  # noqa: BLE001 (one node's bug must not stop the others)
            outcome = Outcome(names[i], False, error=f"{type(exc).__name__}: {exc}")
        outcome.seconds = time.monotonic() - start
        on_end(i, outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(items))), thread_name_prefix="fanout") as pool:
        return list(pool.map(one, range(len(items))))


def _run_with_bars(items: list[T], names: list[str], work: Callable[[T, Callable[[str], None]], Any],
                   parallel: int, total: int | None, console: Console | None) -> list[Outcome]:
    """One live bar per node: name, bar, k/N, current step, then its result.

    Failures are printed again as plain lines once the display has stopped, so the
    whole error stays in the scrollback whatever the terminal's width.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Column

    out = console or Console(stderr=True)
    bars = Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[status]}", table_column=Column(no_wrap=True, overflow="ellipsis")),
                    console=out)
    tasks = [bars.add_task(escape(name), total=total, status="[dim]waiting") for name in names]
    counts = [0] * len(items)  # each index is written by its own thread only

    def on_step(i: int, k: int, step: str) -> None:
        counts[i] = k
        bars.update(tasks[i], completed=k, total=max(total, k) if total else None, status=escape(step))

    def on_end(i: int, o: Outcome) -> None:
        if o.ok:
            done = max(total or 0, counts[i]) or 1
            bars.update(tasks[i], completed=done, total=done, status=f"[green]{_end_text(o)}")
        else:
            bars.update(tasks[i], status=f"[red]FAILED:[/] {escape(o.error)}")

    with bars:
        outcomes = _pool(items, names, work, parallel, on_step, on_end)
    for o in outcomes:
        if not o.ok:
            out.print(f"  [{o.name}] {_end_text(o)}", markup=False, highlight=False, soft_wrap=True)
    return outcomes
