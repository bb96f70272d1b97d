"""Patterns the worker found: spikes, regressions, recurring errors, new in a release, errors that come together."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.client import ApiClient
from tui.format import ago, relative_time, severity_text, short_title, truncate
from tui.messages import OpenError
from tui.models import Pattern
from tui.tables import Cell, cursor_key, flex, refill, set_columns
from tui.widgets.list_table import ListTable
from tui.widgets.pane import Pane

KIND_LABELS = {
    "spike": "spike",
    "regression": "regression",
    "recurring": "recurring",
    "new_in_release": "new in release",
    "correlated": "correlated",
}


class PatternsPane(Pane):
    """One row per active pattern; the highlighted one's explanation below; enter opens its error."""

    PANE_ID = "patterns"
    PANE_TITLE = "Patterns"
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.patterns: dict[str, Pattern] = {}

    def compose(self) -> ComposeResult:
        yield ListTable(id="patterns-table")
        yield Static(id="patterns-explanation")

    def on_mount(self) -> None:
        super().on_mount()
        self._columns()

    def _error_width(self) -> int:
        return flex(self.size.width or 80, [14, 4, 12, 4])

    def _columns(self) -> bool:
        return set_columns(
            self.query_one("#patterns-table", DataTable),
            [
                ("kind", "Kind", 14),
                ("sev", "Sev", 4),
                ("service", "Service", 12),
                ("error", "Error", self._error_width()),
                ("detected", "Seen", 4),
            ],
        )

    def on_resize(self) -> None:
        if self._columns() and self.patterns:
            self.show(list(self.patterns.values()))

    def focus_target(self) -> Widget | None:
        return self.query_one("#patterns-table", DataTable)

    async def fetch(self, client: ApiClient) -> list[Pattern]:
        return (await client.patterns()).items

    def show(self, data: list[Pattern]) -> None:
        now = self.errlog.now()
        ordered = sorted(data, key=lambda p: (-p.score, p.detected_at.timestamp() * -1, p.id))
        self.patterns = {str(p.id): p for p in ordered}
        rows: list[tuple[str, list[Cell]]] = [
            (
                str(p.id),
                [
                    Text(KIND_LABELS.get(p.kind, p.kind), "bold"),
                    severity_text(p.error_severity) if p.error_severity else Text("-", "dim"),
                    truncate(p.service or "-", 12),
                    short_title(p.error_title or p.description, self._error_width()),
                    Text(relative_time(p.detected_at, now), justify="right"),
                ],
            )
            for p in ordered
        ]
        refill(self.query_one("#patterns-table", DataTable), rows)
        self._explain()

    @on(DataTable.RowHighlighted, "#patterns-table")
    def _highlighted(self) -> None:
        self._explain()

    def _explain(self) -> None:
        key = cursor_key(self.query_one("#patterns-table", DataTable))
        pattern = self.patterns.get(key or "")
        box = self.query_one("#patterns-explanation", Static)
        if pattern is None:
            box.update(Text("No patterns right now: spikes, regressions and the like show up here.", "dim"))
            return
        text = Text()
        text.append(f"{KIND_LABELS.get(pattern.kind, pattern.kind)}: ", "bold")
        text.append(pattern.description)
        extra = [f"detected {ago(pattern.detected_at, self.errlog.now())}", f"score {pattern.score:.1f}"]
        if pattern.error_id:
            extra.append(f"error #{pattern.error_id}")
        if pattern.correlated_error_ids:
            extra.append("with " + ", ".join(f"#{i}" for i in pattern.correlated_error_ids[:8]))
        text.append("\n" + " · ".join(extra), "dim")
        box.update(text)

    def action_open(self) -> None:
        pattern = self.patterns.get(cursor_key(self.query_one("#patterns-table", DataTable)) or "")
        if pattern is not None and pattern.error_id is not None:
            self.post_message(OpenError(pattern.error_id))
        elif pattern is not None:
            self.notify("This pattern is not about one error", severity="warning", timeout=3)

    @on(DataTable.RowSelected, "#patterns-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
