"""Printing: JSON for scripts, aligned tables and progress lines for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "") -> None:
    if not rows:
        if empty:
            print(empty, file=sys.stderr)
        return
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def progress(prefix: str) -> Any:
    def report(step: str) -> None:
        print(f"  {prefix}: {step}", file=sys.stderr, flush=True)

    return report


def ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
