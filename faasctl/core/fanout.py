"""Running one operation on many nodes at once, with a bounded number of connections.

Each node gets its own progress lines and its own outcome: a failure on one node is
recorded and reported, the others carry on, and the caller decides the exit status from
the outcomes (non-zero if any failed). Threads fit: the work is SSH and subprocess I/O.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import FaasctlError

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


def run(items: list[T], name_of: Callable[[T], str], work: Callable[[T, Callable[[str], None]], Any],
        parallel: int = DEFAULT_PARALLEL, quiet: bool = False) -> list[Outcome]:
    """Apply `work(item, progress)` to every item, at most `parallel` at a time."""

    def one(item: T) -> Outcome:
        name = name_of(item)
        steps = [0]

        def progress(step: str) -> None:
            steps[0] += 1
            if not quiet:
                line(name, f"{steps[0]:>2}. {step}")

        start = time.monotonic()
        try:
            value = work(item, progress)
        except FaasctlError as exc:
            if not quiet:
                line(name, f"FAILED: {exc.message}")
            return Outcome(name, False, error=exc.message, hint=exc.hint, seconds=time.monotonic() - start)
        except Exception as exc:  # noqa: BLE001 (one node's bug must not stop the others)
            if not quiet:
                line(name, f"FAILED: {type(exc).__name__}: {exc}")
            return Outcome(name, False, error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - start)
        if not quiet:
            line(name, f"done in {time.monotonic() - start:.1f} s")
        return Outcome(name, True, value=value, seconds=time.monotonic() - start)

    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(items))), thread_name_prefix="fanout") as pool:
        return list(pool.map(one, items))
