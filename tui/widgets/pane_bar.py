"""The one-line strip naming the panes and their keys, the active one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class PaneBar(Static):
    """`1 Queue (12)  2 Detail  3 Stats ...`: which pane is shown, and how to reach the others."""

    active: reactive[str] = reactive("queue")

    def __init__(self, panes: list[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.panes = panes
        self.labels = dict(panes)

    def set_label(self, pane_id: str, label: str) -> None:
        self.labels[pane_id] = label
        self.refresh_bar()

    def watch_active(self) -> None:
        self.refresh_bar()

    def on_mount(self) -> None:
        self.refresh_bar()

    def refresh_bar(self) -> None:
        text = Text()
        for number, (pane_id, _) in enumerate(self.panes, start=1):
            label = f" {number} {self.labels[pane_id]} "
            # Brackets keep the active pane visible without colour (NO_COLOR, monochrome terminals).
            text.append(
                f"[{label.strip()}]" if pane_id == self.active else label,
                "reverse bold" if pane_id == self.active else "",
            )
            text.append(" ")
        self.update(text)
