"""What the three list views share: a DataTable refilled in place, and the message
they send up when the operator asks for an action on the highlighted row.

Refilling keeps the cursor on the same key (a node, a function, a call number), so a
live refresh never moves the operator's selection. Views post `Requested` instead of
acting, so the App alone talks to the source and asks for confirmations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable


class Requested(Message):
    """The operator asked for `verb` ("remove-function", "drain", ...) on `name`."""

    def __init__(self, verb: str, name: str) -> None:
        super().__init__()
        self.verb = verb
        self.name = name


def fill(table: DataTable[Any], rows: Sequence[tuple[str, Sequence[str | Text]]]) -> None:
    """Replace the rows with `rows` (key, cells), keeping the cursor on its key if it is still there."""
    keep = current_key(table)
    old = [(str(key.value), [str(c) for c in table.get_row(key)]) for key in table.rows]
    if old == [(k, [str(c) for c in cells]) for k, cells in rows]:
        return  # nothing changed: no redraw, no flicker
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if keep is not None:
        for index, (key, _) in enumerate(rows):
            if key == keep:
                table.move_cursor(row=index, animate=False)
                break


def current_key(table: DataTable[Any]) -> str | None:
    """The key of the highlighted row, or None in an empty table."""
    if not table.row_count:
        return None
    try:
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    except Exception:  # noqa: BLE001  # a cursor past the end after a clear
        return None
    return None if row_key.value is None else str(row_key.value)
