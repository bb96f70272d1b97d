"""Refilling a DataTable with fresh rows while the cursor stays on the same row and the view does not jump."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

Cell = Text | str


def cursor_key(table: DataTable[Any]) -> str | None:
    if table.row_count == 0:
        return None
    try:
        row_key, _ = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
    except RowDoesNotExist:
        return None
    return row_key.value


def refill(table: DataTable[Any], rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
    """Show `rows` (key, cells): cells change in place when the keys are the same, else the table is rebuilt with
    the cursor on the row it was on (or the same position, if that row left) and the view moved with it."""
    keys = [key for key, _ in rows]
    current = [row.key.value for row in table.ordered_rows]
    if keys == current:
        columns = [column.key for column in table.ordered_columns]
        for key, cells in rows:
            for column, cell in zip(columns, cells, strict=True):
                table.update_cell(key, column, cell)
        return
    old_key, old_row, old_scroll = cursor_key(table), table.cursor_row, table.scroll_y
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if not rows:
        return
    new_row = keys.index(old_key) if old_key in keys else min(old_row, len(rows) - 1)
    table.move_cursor(row=max(0, new_row), animate=False, scroll=False)
    table.call_after_refresh(table.scroll_to, y=max(0.0, old_scroll + (new_row - old_row)), animate=False)


def set_columns(table: DataTable[Any], columns: Sequence[tuple[str, str, int | None]]) -> bool:
    """Give the table these (key, label, width) columns; True when they changed (the rows are then gone too)."""
    current = [(c.key.value, str(c.label), None if c.auto_width else c.width) for c in table.ordered_columns]
    wanted = [(key, label, width) for key, label, width in columns]
    if current == wanted:
        return False
    table.clear(columns=True)
    for key, label, width in columns:
        table.add_column(label, key=key, width=width)
    return True


def flex(width: int, fixed: Sequence[int], minimum: int = 12) -> int:
    """The width left for one flexible column beside `fixed` ones (DataTable pads each cell by one on each side)."""
    return max(minimum, width - sum(fixed) - 2 * (len(fixed) + 1) - 1)
