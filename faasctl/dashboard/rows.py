"""Turning Source rows into table cells and sparkline series: pure functions, no textual.

Kept apart from the widgets so the display rules (what "down" means, how load and
latency are summarised) are unit-tested without a terminal, and so every widget shows
a value the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from rich.text import Text


def problem(exc: BaseException, sep: str = "\n") -> str:
    """What a failed request shows: a FaasctlError's message and hint, else (a bug in a
    source) the exception's type and text, so no screen is taken down by one."""
    message, hint = getattr(exc, "message", None), getattr(exc, "hint", "")
    if message is None:
        return f"{type(exc).__name__}: {exc}"
    return str(message) + (f"{sep}{hint}" if hint else "")


def problem_markup(exc: BaseException) -> str:
    """`problem` in red on its first line, escaped for textual's markup."""
    from textual.markup import escape

    first, _, rest = problem(exc).partition("\n")
    return f"[red]{escape(first)}[/red]" + (f"\n{escape(rest)}" if rest else "")


# Sparklines: the last WINDOW seconds in BUCKETS bars.
WINDOW = 300.0
BUCKETS = 30
UNFINISHED = ("PENDING", "RUNNING")


def node_state(node: Mapping[str, Any]) -> str:
    """One word: `drained` wins over `up`; a node not answering is `down`, or `suspect`
    while placement skips it until its next probe."""
    if not node.get("up"):
        return "suspect" if node.get("suspect") else "down"
    return "drained" if node.get("drained") else "up"


# Colours of the words that need the operator's eye; anything else is plain.
COLOURS = {"down": "bold red", "suspect": "bold yellow", "drained": "yellow", "ERROR": "bold red",
           "TIMEOUT": "bold red", "LOST": "red", "PENDING": "yellow", "RUNNING": "cyan"}


def coloured(word: str) -> Text:
    return Text(word, style=COLOURS.get(word, ""))


def counts(values: Mapping[str, int] | None) -> str:
    """{"dice": 2, "sizes": 1} -> "3 (dice 2, sizes 1)"; empty -> "0"."""
    if not values:
        return "0"
    total = sum(values.values())
    parts = ", ".join(f"{k} {v}" for k, v in sorted(values.items()) if v)
    return f"{total} ({parts})" if parts else str(total)


def total(values: Mapping[str, int] | None) -> str:
    return "-" if values is None else str(sum(values.values()))


def load(node: Mapping[str, Any]) -> str:
    running, cpus = node.get("running"), node.get("cpus")
    if running is None or not cpus:
        return "-"
    return f"{running / cpus:.2f}"


def number(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if not isinstance(value, float):
        return f"{value}{unit}"
    return (f"{value:.0f}" if value >= 10 else f"{value:.1f}") + unit


def error_percent(function: Mapping[str, Any]) -> str:
    calls, errors = function.get("calls"), function.get("errors")
    if not calls or errors is None:
        return "-"
    return f"{100.0 * errors / calls:.1f}%"


def warm_per_node(function: Mapping[str, Any]) -> str:
    warm = function.get("warm")
    if warm is None:
        return "-"
    return " ".join(f"{node}:{n}" for node, n in sorted(warm.items())) or "0"


def preload(function: Mapping[str, Any]) -> str:
    policy = function.get("policy") or {}
    text = str(policy.get("preload", "-"))
    if policy.get("min_warm"):
        text += f" min{policy['min_warm']}"
    return text


def placement(function: Mapping[str, Any]) -> str:
    policy = function.get("policy") or {}
    text = str(function.get("placement") or policy.get("placement") or "-")
    pinned = function.get("pinned") or policy.get("pin")
    return f"{text} {','.join(pinned)}" if pinned else text


def age(then: float | None, now: float) -> str:
    """Seconds, minutes, hours or days ago, in at most four characters."""
    if then is None:
        return "-"
    seconds = max(0.0, now - then)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def one_line(text: Any, width: int = 40) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def series(calls: Iterable[Mapping[str, Any]], now: float, function: str = "") -> tuple[list[float], list[float]]:
    """Calls per second and mean run time (ms) in each of BUCKETS bars over the last WINDOW
    seconds, oldest first, from CallOut rows (all functions when `function` is empty).

    A call counts in the bar of its createdAt; its latency in the bar of its finishedAt."""
    width = WINDOW / BUCKETS
    rate = [0.0] * BUCKETS
    total = [0.0] * BUCKETS
    seen = [0] * BUCKETS
    for call in calls:
        if function and call.get("funcName") != function:
            continue
        created = call.get("createdAt")
        if created is not None:
            slot = _slot(created, now, width)
            if slot is not None:
                rate[slot] += 1.0 / width
        finished, run = call.get("finishedAt"), call.get("runMs")
        if finished is not None and run is not None:
            slot = _slot(finished, now, width)
            if slot is not None:
                total[slot] += float(run)
                seen[slot] += 1
    latency = [total[i] / seen[i] if seen[i] else 0.0 for i in range(BUCKETS)]
    return rate, latency


def _slot(when: float, now: float, width: float) -> int | None:
    back = now - when
    if back < 0 or back >= WINDOW or math.isnan(back):
        return None
    return BUCKETS - 1 - int(back // width)
