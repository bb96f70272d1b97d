"""The queue: open errors, most severe and most recent first, live, paged, filterable, multi-selectable."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from tui.client import ApiClient
from tui.format import (
    SEVERITY_STYLE,
    compact_number,
    first_name,
    relative_time,
    severity_text,
    short_title,
    sparkline,
    truncate,
)
from tui.maintenance import MaintenanceWatch
from tui.messages import OpenError, UnacknowledgedCount
from tui.models import ErrorSummary
from tui.queue_state import SAVED_FILTERS, SORT_LABELS, SORTS, QueueState, Snapshot
from tui.tables import cursor_key, refill
from tui.widgets.error_pane import ACTION_BINDINGS, ErrorPane
from tui.widgets.filter_bar import FilterBar
from tui.widgets.list_table import ListTable

LOAD_MORE_MARGIN = 20  # rows from the end at which the next page is fetched


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int


def columns_for(width: int) -> list[Column]:
    """Columns that fit `width` cells: the title takes what the others leave; spark and users go first when narrow.

    At 80 cells a triager still sees severity, title, service, events, last seen, assignee (first name) and
    flags, and the title keeps 28 cells (more once its exception type drops its package: see short_title)."""
    wide = width >= 140
    chosen = [
        Column("sev", "Sev", 5),
        Column("title", "Title", 0),
        Column("service", "Service", 14 if wide else 9),
        Column("events", "Events", 6),
    ]
    if width >= 110:
        chosen.append(Column("users", "Users", 5))
    chosen += [
        Column("seen", "Seen", 4),
        Column("assignee", "Assignee", 16 if wide else 8),
        Column("flags", "Flags", 5),
    ]
    if width >= 96:
        chosen.append(Column("spark", "24h", 24 if wide else 12))
    fixed = sum(c.width for c in chosen) + 2 * len(chosen) + 1  # cell padding and the scrollbar
    title = max(12, width - fixed)
    return [Column(c.key, c.label, title) if c.key == "title" else c for c in chosen]


class QueuePane(ErrorPane):
    """Open errors as a table that keeps its cursor, selection and scroll position while it refreshes itself."""

    PANE_ID = "queue"
    PANE_TITLE = "Queue"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="filter", key_display="/", tooltip="Search with the q syntax"),
        *ACTION_BINDINGS,
        Binding("space", "toggle_select", "Select", id="select", tooltip="Select for a bulk action"),
        Binding("f", "saved_filters", "Saved filters", id="saved_filters", tooltip="mine, unassigned, critical"),
        Binding("s", "sort", "Sort", id="sort", tooltip="Cycle the sort order"),
        Binding("escape", "clear", "Clear", id="clear", show=False, tooltip="Clear the selection, then the filter"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = QueueState()
        self.shown: list[int] = []  # the rows in the table, in order
        self.selected: set[int] = set()
        self.columns: list[Column] = []
        self.unacknowledged: int | None = None
        self.maintenance = MaintenanceWatch()

    @property
    def errors(self) -> dict[int, ErrorSummary]:
        return self.state.errors

    @property
    def order(self) -> list[int]:
        return self.state.order

    @property
    def query_text(self) -> str:
        return self.state.query

    def compose(self) -> ComposeResult:
        yield FilterBar(id="filter-bar")
        yield Static(id="queue-maintenance")
        yield Static(id="queue-status")
        yield ListTable(id="queue-table")
        yield Static(id="queue-empty")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#queue-table", DataTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#filter-bar", FilterBar).display = False
        self.query_one("#queue-empty", Static).display = False
        self.query_one("#queue-maintenance", Static).display = False
        self._set_columns(self.size.width or 80)
        self._show_status()

    def focus_target(self) -> Widget | None:
        return self.table

    def on_resize(self) -> None:
        if self.columns != columns_for(self.size.width):
            self._set_columns(self.size.width)
            self._rebuild()

    def _set_columns(self, width: int) -> None:
        self.columns = columns_for(width)
        table = self.table
        table.clear(columns=True)
        for column in self.columns:
            table.add_column(column.label, width=column.width, key=column.key)

    # ---- loading ----

    async def fetch(self, client: ApiClient) -> Snapshot:
        # Side by side: the windows (every 30 s) must not delay the rows, least of all on the first screen.
        _, snapshot = await asyncio.gather(self.maintenance.read(client, time.monotonic()), self.state.read(client))
        return snapshot

    def show(self, data: Snapshot) -> None:
        if data.unacknowledged is not None and data.unacknowledged != self.unacknowledged:
            self.unacknowledged = data.unacknowledged
            self.post_message(UnacknowledgedCount(data.unacknowledged))
        self._draw(self.state.apply(data))
        self._show_status()
        self._show_maintenance()

    def _show_maintenance(self) -> None:
        note = self.maintenance.note(self.errlog.now())
        line = self.query_one("#queue-maintenance", Static)
        line.display = note is not None
        line.update(Text(note or ""))

    @work(exclusive=True, exit_on_error=False, group="more", description="load more")
    async def load_more(self) -> None:
        if await self.state.read_more(self.client):
            self._draw(set())
            self._show_status()

    # ---- drawing ----

    def _draw(self, changed: set[int] | None) -> None:
        """Show the state's rows. With the same rows in the same order, only the changed ones (and every row's
        relative time) are redrawn in place; otherwise the table is rebuilt with the cursor kept on its row."""
        order = self.state.order
        self.selected &= set(order)
        if order == self.shown and self.table.row_count == len(order):
            now = self.errlog.now()
            for error_id in order:
                if changed is None or error_id in changed:
                    self._update_row(error_id)
                elif any(column.key == "seen" for column in self.columns):
                    seen = Text(relative_time(self.errors[error_id].last_seen, now), justify="right")
                    self.table.update_cell(str(error_id), "seen", seen)
        elif self._grown_by_a_page(order, changed):
            # The next page: only its rows are added. Rebuilding the table cost seconds per page with thousands of
            # rows loaded (bench/tui.py, the end key).
            for error_id in self.shown:
                if error_id in (changed or ()):
                    self._update_row(error_id)
            for error_id in order[len(self.shown) :]:
                self.table.add_row(*self._cells(self.errors[error_id]), key=str(error_id))
            self.shown = list(order)
        else:
            self.shown = list(order)
            refill(self.table, [(str(i), self._cells(self.errors[i])) for i in order])
        # The table stays (and keeps the focus) when empty: only its header shows, the hint below it.
        empty = not order and self.loaded
        self.query_one("#queue-empty", Static).display = empty
        self.set_class(empty, "-empty")

    def _grown_by_a_page(self, order: list[int], changed: set[int] | None) -> bool:
        """The rows shown, in the same order, followed by new ones: what loading the next page gives."""
        shown = len(self.shown)
        return (
            changed is not None
            and 0 < shown < len(order)
            and self.table.row_count == shown
            and order[:shown] == self.shown
        )

    def _rebuild(self) -> None:
        self.table.clear()
        self.shown = []
        self._draw(None)

    def _update_row(self, error_id: int) -> None:
        for column, cell in zip(self.columns, self._cells(self.errors[error_id]), strict=True):
            self.table.update_cell(str(error_id), column.key, cell)

    def _cells(self, error: ErrorSummary) -> list[Text | str]:
        now = self.errlog.now()
        style = "dim" if error.is_acknowledged else ""
        cells: list[Text | str] = []
        for column in self.columns:
            if column.key == "sev":
                mark = Text("●" if error.id in self.selected else " ", "bold")
                cells.append(mark + severity_text(error.severity))
            elif column.key == "title":
                cells.append(Text(short_title(error.title, column.width), style or ""))
            elif column.key == "service":
                cells.append(truncate(error.service, column.width))
            elif column.key == "events":
                cells.append(Text(compact_number(error.times_seen), justify="right"))
            elif column.key == "users":
                cells.append(Text(compact_number(error.users_affected), justify="right"))
            elif column.key == "seen":
                cells.append(Text(relative_time(error.last_seen, now), justify="right"))
            elif column.key == "assignee":
                if error.assignee is None:
                    cells.append(Text("-", "dim"))
                else:
                    # A narrow column shows the first name whole rather than a cut "Dana Ko…".
                    name = error.assignee.name if column.width >= 12 else first_name(error.assignee.name)
                    cells.append(Text(truncate(name, column.width)))
            elif column.key == "flags":
                cells.append(Text(" ".join(error.flags()), "bold"))
            elif column.key == "spark":
                counts = error.sparkline or []
                cells.append(Text(sparkline(counts, column.width), SEVERITY_STYLE.get(error.severity, "")))
        return cells

    def _show_status(self) -> None:
        parts = [f"sort: {SORT_LABELS[self.state.sort]}"]
        parts.append(f"search: {self.query_text}" if self.query_text else "all open errors")
        if self.selected:
            parts.append(f"{len(self.selected)} selected")
        loaded = f"{len(self.order)} shown" + (", more below" if self.state.next_cursor else "")
        parts.append(loaded)
        self.query_one("#queue-status", Static).update(Text(" · ".join(parts)))
        empty = self.query_one("#queue-empty", Static)
        if self.query_text:
            empty.update(Text(f"No open error matches {self.query_text!r}. Esc clears the search."))
        else:
            empty.update(Text(self.errlog.empty_queue_hint()))

    # ---- what the actions act on ----

    def cursor_id(self) -> int | None:
        key = cursor_key(self.table) if self.order else None
        return int(key) if key is not None else None

    def targets(self) -> list[ErrorSummary]:
        if self.selected:
            return [self.errors[i] for i in self.order if i in self.selected]
        current = self.cursor_id()
        return [self.errors[current]] if current is not None and current in self.errors else []

    def apply_errors(self, errors: list[ErrorSummary]) -> None:
        """Errors changed by an action: updated in place (a resolved one stays until the next refresh drops it)."""
        for error_id in self.state.update(errors):
            if error_id in self.shown:
                self._update_row(error_id)
        self._show_status()

    # ---- keys ----

    def action_open(self) -> None:
        current = self.cursor_id()
        if current is not None:
            self.post_message(OpenError(current, self.errors.get(current)))

    @on(DataTable.RowSelected, "#queue-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.RowHighlighted, "#queue-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.state.next_cursor and event.cursor_row >= len(self.order) - LOAD_MORE_MARGIN:
            self.load_more()

    def action_toggle_select(self) -> None:
        current = self.cursor_id()
        if current is None:
            return
        self.selected ^= {current}
        self._update_row(current)
        self.table.action_cursor_down()
        self._show_status()

    def action_clear(self) -> None:
        if self.selected:
            changed = list(self.selected)
            self.selected.clear()
            for error_id in changed:
                self._update_row(error_id)
        elif self.query_text:
            self.set_query("")
        self._show_status()

    def action_filter(self) -> None:
        self.query_one("#filter-bar", FilterBar).open(self.query_text)

    def action_saved_filters(self) -> None:
        from tui.screens.choice import ChoiceScreen  # not at the top: tui.screens imports this module

        bar = self.query_one("#filter-bar", FilterBar)
        choices = [(f"{name}: {query}", query) for name, query in SAVED_FILTERS]
        choices += [
            (f"recent: {query}", query) for query in reversed(bar.history) if query not in dict(SAVED_FILTERS).values()
        ]
        choices.append(("all open errors (no search)", ""))
        self.app.push_screen(ChoiceScreen("Show ...", choices), lambda q: None if q is None else self.set_query(q))

    def action_sort(self) -> None:
        sort = SORTS[(SORTS.index(self.state.sort) + 1) % len(SORTS)]
        self.state.restart(sort=sort)
        self.notify(f"Sorted by {SORT_LABELS[sort]}", timeout=2)
        self.reload()
        self._show_status()

    def set_query(self, query: str) -> None:
        self.state.restart(query=query)
        self.query_one("#filter-bar", FilterBar).remember(self.state.query)
        self.reload()
        self._show_status()

    @on(Input.Submitted, "#filter-bar")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        bar = self.query_one("#filter-bar", FilterBar)
        bar.display = False
        self.table.focus()
        self.set_query(event.value)

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.table.focus()
