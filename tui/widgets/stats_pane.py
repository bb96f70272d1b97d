"""Stats: events over time by severity and service, MTTA and MTTR, and the errors with the most events."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.charts import bar_chart
from tui.client import ApiClient
from tui.format import SEVERITY_ORDER, SEVERITY_STYLE, bar, compact_number, severity_text, sparkline, truncate
from tui.messages import OpenError
from tui.models import Stats
from tui.tables import Cell, cursor_key, refill
from tui.widgets.list_table import ListTable
from tui.widgets.pane import Pane

WINDOWS = ("1h", "24h", "7d", "30d")
PER = {"minute": "minute", "hour": "hour", "day": "day"}


def duration(seconds: float | None) -> str:
    """Mean times to acknowledge and resolve, as a person reads them: 45s, 12m 30s, 3h 5m, 2d 4h."""
    if seconds is None:
        return "-"
    total = round(seconds)
    for size, unit, small, small_unit in ((86_400, "d", 3600, "h"), (3600, "h", 60, "m"), (60, "m", 1, "s")):
        if total >= size:
            rest = (total % size) // small
            return f"{total // size}{unit}" + (f" {rest}{small_unit}" if rest else "")
    return f"{total}s"


class StatsPane(Pane):
    """The window's numbers; enter on a top error opens it."""

    PANE_ID = "stats"
    PANE_TITLE = "Stats"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "window", "Window", id="stats.window", tooltip="Cycle the window: 1h, 24h, 7d, 30d"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.window = "24h"
        self.stats: Stats | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-scroll"):
            yield Static(id="stats-summary")
            yield Static(id="stats-chart")
            yield Static(id="stats-severity")
            yield Static(id="stats-services")
            yield Static(Text("Top errors", "bold"), classes="section-title")
            yield ListTable(id="stats-top")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#stats-top", DataTable)
        for key, label, width in (("sev", "Sev", 4), ("events", "Events", 6), ("service", "Service", 12)):
            table.add_column(label, key=key, width=width)
        table.add_column("Title", key="title")

    def focus_target(self) -> Widget | None:
        return self.query_one("#stats-top", DataTable)

    async def fetch(self, client: ApiClient) -> Stats:
        return await client.stats(window=self.window)

    def show(self, data: Stats) -> None:
        if data.window != self.window:
            return
        self.stats = data
        self._draw()

    def on_resize(self) -> None:
        if self.stats is not None:
            self._draw()

    def _draw(self) -> None:
        stats = self.stats
        if stats is None:
            return
        width = max(40, self.size.width - 2)
        self.query_one("#stats-summary", Static).update(self._summary(stats))
        chart = Text(f"Events per {PER.get(stats.interval, stats.interval)}, last {stats.window}\n", "bold")
        chart.append_text(bar_chart(stats.events.counts, width, 5))
        self.query_one("#stats-chart", Static).update(chart)
        self.query_one("#stats-severity", Static).update(self._by_severity(stats, width))
        self.query_one("#stats-services", Static).update(self._by_service(stats, width))
        table = self.query_one("#stats-top", DataTable)
        rows: list[tuple[str, list[Cell]]] = [
            (
                str(top.error.id),
                [
                    severity_text(top.error.severity),
                    Text(compact_number(top.events), justify="right"),
                    truncate(top.error.service, 12),
                    truncate(top.error.title, max(20, width - 34)),
                ],
            )
            for top in stats.top_errors
        ]
        refill(table, rows)

    def _summary(self, stats: Stats) -> Text:
        open_ = stats.by_severity
        status = stats.by_status
        text = Text()
        text.append(f"Last {stats.window}: ", "bold")
        text.append(f"{compact_number(stats.total_events)} events · open {open_.total()} (")
        parts = [(name, getattr(open_, name)) for name in SEVERITY_ORDER]
        for i, (name, count) in enumerate(parts):
            text.append(f"{' · ' if i else ''}{name[:4]} {count}", SEVERITY_STYLE[name] if count else "dim")
        text.append(")\n")
        text.append(
            f"unresolved {status.unresolved} · acknowledged {status.acknowledged} · resolved {status.resolved}"
            f" · ignored {status.ignored}\n"
        )
        text.append("MTTA ", "bold")
        text.append(f"{duration(stats.mtta_seconds)} ({stats.acknowledged} acknowledged)   ")
        text.append("MTTR ", "bold")
        text.append(f"{duration(stats.mttr_seconds)} ({stats.resolved} resolved)")
        return text

    def _by_severity(self, stats: Stats, width: int) -> Text:
        text = Text("By severity\n", "bold")
        series = stats.events_by_severity
        for i, name in enumerate(SEVERITY_ORDER):
            counts: list[int] = getattr(series, name)
            if i:
                text.append("\n")
            text.append(f"{name:<9}", SEVERITY_STYLE[name])
            text.append(sparkline(counts, max(10, width - 20)), SEVERITY_STYLE[name])
            text.append(f" {compact_number(sum(counts)):>6}")
        return text

    def _by_service(self, stats: Stats, width: int) -> Text:
        text = Text("By service\n", "bold")
        top = max((s.events for s in stats.by_service), default=0)
        for i, service in enumerate(sorted(stats.by_service, key=lambda s: (-s.events, s.service))):
            if i:
                text.append("\n")
            text.append(f"{truncate(service.service, 16):<16} ")
            text.append(bar(service.events, top, max(10, width - 46)), "dim")
            text.append(f" {compact_number(service.events):>6} events · {service.open_errors} open")
        if not stats.by_service:
            text.append("(no services yet)", "dim")
        return text

    def action_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        self.notify(f"Stats over the last {self.window}", timeout=2)
        self.reload()

    def action_open(self) -> None:
        key = cursor_key(self.query_one("#stats-top", DataTable))
        if key is not None:
            self.post_message(OpenError(int(key)))

    @on(DataTable.RowSelected, "#stats-top")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
