"""Printing: JSON for scripts, tables and progress lines for people, all to the current
Environment's streams. rich is imported only when a table is drawn."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from .environment import current

WIDE = 100_000  # not a terminal: never wrap a row (scripts split lines on whitespace)


def emit_json(data: Any) -> None:
    current().stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "") -> None:
    """Upper-case headers, columns two spaces apart, no borders; `empty` on stderr if no rows."""
    env = current()
    if not rows:
        if empty:
            print(empty, file=env.stderr)
        return
    cells = [[h.upper() for h in headers], *([("" if c is None else str(c)) for c in row] for row in rows)]
    if not (env.colour and env.stdout_isatty) and all(_plain(c) for row in cells for c in row):
        env.stdout.write(plain_table(cells))
        return
    import io

    from rich.console import Console
    from rich.table import Table

    grid = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False,
                 header_style="bold" if env.colour and env.stdout_isatty else "")
    for h in headers:
        grid.add_column(h.upper(), no_wrap=True, overflow="ignore")
    for row in rows:
        grid.add_row(*(("" if c is None else str(c)) for c in row))
    buf = io.StringIO()
    tty = env.stdout_isatty
    Console(file=buf, width=WIDE, force_terminal=tty and env.colour, no_color=not env.colour,
            highlight=False, emoji=False, markup=False, color_system="standard" if tty and env.colour else None,
            ).print(grid)
    env.stdout.write("".join(ln.rstrip() + "\n" for ln in buf.getvalue().splitlines()))


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable()


def plain_table(cells: Sequence[Sequence[str]]) -> str:
    """What rich draws for `table` when there is no style and no cell holds a wide, control
    or non-ASCII character: the columns left-aligned, two spaces apart, lines right-
    stripped. Without rich, because importing it costs a read-only command about 30 ms
    (tests/unit/test_listing_output.py compares the two)."""
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n" for row in cells)


def progress(prefix: str) -> Callable[[str], None]:
    """A one-node progress callback: `  prefix: step` lines on stderr."""

    def report(step: str) -> None:
        print(f"  {prefix}: {step}", file=current().stderr, flush=True)

    return report


def ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
