"""The row tables of the panes: j/k and arrows move, g/G jump, enter opens what the row is about."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class ListTable(DataTable[Any]):
    """A DataTable with a row cursor whose enter shows in the footer as Open (DataTable's own is hidden)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="open", tooltip="Open what the row under the cursor is about"),
        Binding("j", "cursor_down", "Down", id="cursor_down", show=False),
        Binding("k", "cursor_up", "Up", id="cursor_up", show=False),
        # Row tables have nothing to scroll sideways to: home/end go to the first/last row, as g/G do in vim.
        Binding("home,g", "scroll_top", "First row", id="first_row", show=False),
        Binding("end,G", "scroll_bottom", "Last row", id="last_row", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
