"""Workload: who holds how many open errors, who is on call now and who is next; assign from here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.client import ApiClient
from tui.format import SEVERITY_STYLE, ago, bar, relative_time, truncate, until
from tui.load import picker_order, weighted_load
from tui.messages import ErrorsChanged, SearchQueue
from tui.models import ErrorSummary, Oncall, Workload
from tui.tables import cursor_key, flex, refill, set_columns
from tui.widgets.list_table import ListTable
from tui.widgets.pane import Pane

UNASSIGNED_SHOWN = 20


@dataclass
class Team:
    workload: list[Workload]
    oncall: list[Oncall]


def oncall_text(scopes: list[Oncall], now_label: Any) -> Text:
    """One line per project or team: who answers at each level now, until when, and who comes next."""
    text = Text()
    for scope in sorted(scopes, key=lambda s: s.name.lower()):
        if text:
            text.append("\n")
        text.append(f"{truncate(scope.name, 16):<16} ", "bold")
        if not scope.levels:
            text.append("no rotation", "dim")
        for i, level in enumerate(sorted(scope.levels, key=lambda lv: lv.level)):
            if i:
                text.append(" · ")
            text.append(f"L{level.level} ")
            if level.on_call is not None:
                text.append(level.on_call.developer.name, "bold green")
                text.append(f" for {now_label(level.on_call.ends_at)}")
            else:
                text.append("nobody", "bold red")
            if level.next is not None:
                text.append(f", then {level.next.developer.name}", "dim")
    return text or Text("No on-call schedules yet (errlog oncall rotation ...).", "dim")


def choice_label(error: ErrorSummary, now: dt.datetime) -> str:
    label = f"{error.severity[:4].upper():<4} #{error.id} {truncate(error.title, 50)}"
    return f"{label} · {error.service} · {ago(error.last_seen, now)}"


class WorkloadPane(Pane):
    """Developers, on-call first, with their open errors by severity and a load bar."""

    PANE_ID = "workload"
    PANE_TITLE = "Workload"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "assign_to", "Assign to", id="workload.assign", tooltip="Give this developer an unassigned error"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[str, Workload] = {}
        self.team: Team | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="workload-oncall")
        yield ListTable(id="workload-table")

    def on_mount(self) -> None:
        super().on_mount()
        self._columns()

    def _columns(self) -> bool:
        width = self.size.width or 80
        return set_columns(
            self.query_one("#workload-table", DataTable),
            [
                ("developer", "Developer", 18),
                ("oncall", "On call", 9),
                ("open", "Open", 4),
                ("severity", "C/H/M/L", 11),
                ("unack", "Unack", 5),
                ("oldest", "Oldest", 6),
                ("load", "Load", flex(width, [18, 9, 4, 11, 5, 6], minimum=6)),
            ],
        )

    def on_resize(self) -> None:
        if self._columns() and self.team is not None:
            self.show(self.team)

    def focus_target(self) -> Widget | None:
        return self.query_one("#workload-table", DataTable)

    async def fetch(self, client: ApiClient) -> Team:
        return Team(await client.workload(), await client.oncall())

    def show(self, data: Team) -> None:
        self.team = data
        now = self.errlog.now()
        self.query_one("#workload-oncall", Static).update(oncall_text(data.oncall, lambda at: until(at, now)))
        ordered = picker_order(data.workload)
        self.rows = {str(row.developer.id): row for row in ordered}
        top = max([weighted_load(row) for row in ordered] + [1])
        load_width = self.query_one("#workload-table", DataTable).ordered_columns[-1].width
        table_rows = []
        for row in ordered:
            counts = row.open_by_severity
            severity = Text()
            for i, name in enumerate(("critical", "high", "medium", "low")):
                value = getattr(counts, name)
                severity.append(("/" if i else "") + str(value), SEVERITY_STYLE[name] if value else "dim")
            if row.on_call_now:
                oncall = Text(",".join(f"L{level}" for level in sorted(row.on_call_levels)) or "yes", "bold green")
            elif row.next_shift_start is not None:
                oncall = Text(f"in {until(row.next_shift_start, now)}", "dim")
            else:
                oncall = Text("-", "dim")
            oldest = row.oldest_open
            table_rows.append(
                (
                    str(row.developer.id),
                    [
                        Text(truncate(row.developer.name, 18), "bold" if row.on_call_now else ""),
                        oncall,
                        Text(str(row.open_assigned), justify="right"),
                        severity,
                        Text(str(row.unacknowledged), "bold red" if row.unacknowledged else "dim", justify="right"),
                        Text(relative_time(oldest.since, now) if oldest else "-", justify="right"),
                        Text(bar(weighted_load(row), top, load_width)),
                    ],
                )
            )
        refill(self.query_one("#workload-table", DataTable), table_rows)

    @on(DataTable.RowSelected, "#workload-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.rows.get(cursor_key(self.query_one("#workload-table", DataTable)) or "")
        if row is not None:
            self.post_message(SearchQueue(f"assigned:{row.developer.email}"))

    def action_assign_to(self) -> None:
        row = self.rows.get(cursor_key(self.query_one("#workload-table", DataTable)) or "")
        if row is None:
            return
        self.run_worker(
            self._choose_error(row), group="action", description="Load unassigned errors", exit_on_error=False
        )

    async def _choose_error(self, row: Workload) -> None:
        from tui.screens.choice import ChoiceScreen  # not at the top: tui.screens imports the panes

        page = await self.client.list_errors(
            q="is:unresolved is:unassigned", sort="severity", limit=UNASSIGNED_SHOWN, sparkline=False
        )
        if not page.items:
            self.notify("No unassigned open errors", timeout=3)
            return
        now = self.errlog.now()
        choices = [
            (
                f"{e.severity[:4].upper():<4} #{e.id} {truncate(e.title, 50)} · {e.service} · {ago(e.last_seen, now)}",
                str(e.id),
            )
            for e in page.items
        ]

        def chosen(value: str | None) -> None:
            if value is not None:
                self.run_worker(
                    self._assign(int(value), row), group="action", description=f"Assign #{value}", exit_on_error=False
                )

        self.app.push_screen(ChoiceScreen(f"Give {row.developer.name} ...", choices), chosen)

    async def _assign(self, error_id: int, row: Workload) -> None:
        updated = await self.client.act(error_id, "assign", developer_id=row.developer.id)
        self.post_message(ErrorsChanged([updated]))
        self.notify(f"Assigned #{error_id} to {row.developer.name}", timeout=3)
        self.reload()
