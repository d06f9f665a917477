"""Running one operation on many nodes at once, with a bounded number of connections.

Each node gets its own progress and its own outcome: a failure on one node is recorded
and reported, the others carry on, and the caller decides the exit status from the
outcomes (non-zero if any failed). Threads fit: the work is SSH and subprocess I/O.

Core draws nothing: progress goes to a `Reporter` (silent by default). The CLI renders it
(cli/progress.py: bars or lines); `serve` leaves it silent. A caller that cannot pass a
reporter down through core (a deploy fans out deep inside) scopes one with `reporting()`;
it is a context variable, so it stays with the thread that set it and serve's worker
threads never see the CLI's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import FaasctlError

T = TypeVar("T")
DEFAULT_PARALLEL = 10


@dataclass
class Outcome:
    name: str
    ok: bool
    value: Any = None
    error: str = ""
    hint: str = ""
    seconds: float = 0.0


class Reporter:
    """Progress events of one run. `step` and `end` come from worker threads (each index
    from its own thread only); `start` and `stop` from the caller's thread."""

    def start(self, names: list[str], total: int | None) -> None:
        """`total`: how many steps a node usually reports (a node may report more or fewer)."""

    def step(self, index: int, count: int, text: str) -> None:
        """Node `index` began its `count`-th step, `text`."""

    def end(self, index: int, outcome: Outcome) -> None:
        """Node `index` finished."""

    def stop(self, outcomes: list[Outcome]) -> None:
        """Every node finished (or the run was interrupted: then `outcomes` may be short)."""


_current: ContextVar[Reporter | None] = ContextVar("faasctl_fanout_reporter", default=None)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Runs started in this thread inside the block report to `reporter`."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)


def run(items: list[T], name_of: Callable[[T], str], work: Callable[[T, Callable[[str], None]], Any],
        parallel: int = DEFAULT_PARALLEL, total: int | None = None,
        reporter: Reporter | None = None) -> list[Outcome]:
    """Apply `work(item, progress)` to every item, at most `parallel` at a time.

    Progress goes to `reporter`, else to the one `reporting()` scoped, else nowhere.
    """
    if not items:
        return []
    names = [name_of(item) for item in items]
    report = reporter or _current.get() or Reporter()
    outcomes: list[Outcome] = []
    report.start(names, total)
    try:
        outcomes = _pool(items, names, work, parallel, report)
    finally:
        report.stop(outcomes)
    return outcomes


def _pool(items: list[T], names: list[str], work: Callable[[T, Callable[[str], None]], Any], parallel: int,
          report: Reporter) -> list[Outcome]:
    """The threads: each item's work with its own step counter; outcomes in input order."""

    def one(i: int) -> Outcome:
        steps = [0]

        def progress(step: str) -> None:
            steps[0] += 1
            report.step(i, steps[0], step)

        start = time.monotonic()
        try:
            outcome = Outcome(names[i], True, value=work(items[i], progress))
        except FaasctlError as exc:
            outcome = Outcome(names[i], False, error=exc.message, hint=exc.hint)
        except Exception as exc:  # noqa: BLE001 (one node's bug must not stop the others)
            outcome = Outcome(names[i], False, error=f"{type(exc).__name__}: {exc}")
        outcome.seconds = time.monotonic() - start
        report.end(i, outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(items))), thread_name_prefix="fanout") as pool:
        return list(pool.map(one, range(len(items))))
