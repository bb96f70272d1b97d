"""The queue's search box: the API's `q` syntax, with the searches typed before one arrow key away."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

HISTORY_SIZE = 50


class FilterBar(Input):
    """Enter applies the search (Input.Submitted); esc closes it; up/down walk through earlier searches."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Earlier search", id="filter.history_back", show=False),
        Binding("down", "history(1)", "Later search", id="filter.history_forward", show=False),
        Binding("escape", "close", "Close", id="filter.close"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder='search: level:critical service:payments assigned:me !assigned release:1.4 "timeout"',
            id=id,
            compact=True,
        )
        self.history: list[str] = []
        self._position = 0

    def remember(self, query: str) -> None:
        if query:
            if query in self.history:
                self.history.remove(query)
            self.history.append(query)
            del self.history[:-HISTORY_SIZE]
        self._position = len(self.history)

    def open(self, current: str) -> None:
        self.value = current
        self.cursor_position = len(current)
        self._position = len(self.history)
        self.display = True
        self.focus()

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + step))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Closed())

    class Closed(Message):
        """The bar was closed without applying (esc)."""
