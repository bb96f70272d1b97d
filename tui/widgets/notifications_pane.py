"""Notifications: every alert delivery with its state and last error; retry a failed one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.client import ApiClient
from tui.format import ago, clock, relative_time, short_title, truncate
from tui.messages import OpenError
from tui.models import Notification
from tui.tables import Cell, cursor_key, flex, refill, set_columns
from tui.widgets.list_table import ListTable
from tui.widgets.pane import Pane

STATUS_STYLE = {
    "sent": "green",
    "pending": "yellow",
    "sending": "yellow",
    "failed": "bold red",
    "dead": "bold red reverse",
    "suppressed": "dim",
}
RETRYABLE = ("failed", "dead", "suppressed")
PROBLEMS = ["failed", "dead"]


class NotificationsPane(Pane):
    """Newest deliveries first; f shows only the failed ones; r retries the one under the cursor."""

    PANE_ID = "notifications"
    PANE_TITLE = "Notifications"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="notification.retry", tooltip="Retry the failed delivery under the cursor"),
        Binding("f", "toggle_failed", "Failed only", id="notification.failed", tooltip="Show only failed deliveries"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.failed_only = False
        self.items: dict[str, Notification] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="notifications-status")
        yield ListTable(id="notifications-table")
        yield Static(id="notifications-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self._columns()

    def _to_width(self) -> int:
        # At 80 columns the recipient gives up four cells to the error, which would otherwise show 12.
        return 16 if (self.size.width or 80) >= 100 else 12

    def _error_width(self) -> int:
        return flex(self.size.width or 80, [10, 9, self._to_width(), 10, 5, 4])

    def _columns(self) -> bool:
        return set_columns(
            self.query_one("#notifications-table", DataTable),
            [
                ("status", "Status", 10),
                ("channel", "Channel", 9),
                ("target", "To", self._to_width()),
                ("trigger", "Why", 10),
                ("tries", "Tries", 5),
                ("error", "Error", self._error_width()),
                ("at", "At", 4),
            ],
        )

    def on_resize(self) -> None:
        if self._columns() and self.items:
            self.show(list(self.items.values()))

    def focus_target(self) -> Widget | None:
        return self.query_one("#notifications-table", DataTable)

    async def fetch(self, client: ApiClient) -> list[Notification]:
        return (await client.notifications(status=PROBLEMS if self.failed_only else None)).items

    def show(self, data: list[Notification]) -> None:
        now = self.errlog.now()
        self.items = {str(n.id): n for n in data}
        rows: list[tuple[str, list[Cell]]] = [
            (
                str(n.id),
                [
                    Text(n.status, STATUS_STYLE.get(n.status, "")),
                    n.channel,
                    truncate(n.developer.name if n.developer else n.target, self._to_width()),
                    n.trigger,
                    Text(f"{n.attempts}/{n.max_attempts}", justify="right"),
                    Text(short_title(n.error_title or "", self._error_width())),
                    Text(relative_time(n.created_at, now), justify="right"),
                ],
            )
            for n in data
        ]
        refill(self.query_one("#notifications-table", DataTable), rows)
        failing = sum(1 for n in data if n.status in RETRYABLE)
        scope = "failed and dead deliveries" if self.failed_only else "all deliveries, newest first"
        self.query_one("#notifications-status", Static).update(
            Text(f"{scope} · {len(data)} shown · {failing} failing · f: {'all' if self.failed_only else 'failed only'}")
        )
        self._describe()

    @on(DataTable.RowHighlighted, "#notifications-table")
    def _highlighted(self) -> None:
        self._describe()

    def current(self) -> Notification | None:
        return self.items.get(cursor_key(self.query_one("#notifications-table", DataTable)) or "")

    def _describe(self) -> None:
        n = self.current()
        box = self.query_one("#notifications-detail", Static)
        if n is None:
            box.update(Text("No notifications yet: alerts appear here as the worker delivers them.", "dim"))
            return
        text = Text()
        text.append(f"#{n.id} {n.channel} → {n.target}", "bold")
        text.append(f" · {n.trigger} · error #{n.error_id} " if n.error_id else f" · {n.trigger} ")
        text.append(n.status, STATUS_STYLE.get(n.status, ""))
        now = self.errlog.now()
        if n.last_error:
            code = f"HTTP {n.last_status_code}: " if n.last_status_code else ""
            text.append(f"\nlast error: {code}{n.last_error}", "red")
        if n.next_attempt_at and n.status in ("failed", "pending"):
            text.append(f"\nnext attempt {clock(n.next_attempt_at)}", "dim")
        if n.sent_at:
            text.append(f"\nsent {ago(n.sent_at, now)}", "dim")
        box.update(text)

    def action_retry(self) -> None:
        n = self.current()
        if n is None:
            return
        if n.status not in RETRYABLE:
            self.notify(
                f"Notification #{n.id} is {n.status}: only failed, dead or suppressed ones are retried", timeout=3
            )
            return
        self.run_worker(self._retry(n.id), group="action", description=f"Retry #{n.id}", exit_on_error=False)

    async def _retry(self, notification_id: int) -> None:
        outcome = await self.client.retry_notification(notification_id)
        queued = "queued" if outcome.queued else "marked for retry"
        self.notify(f"Notification #{notification_id} {queued} ({outcome.notification.status})", timeout=3)
        self.reload()

    def action_toggle_failed(self) -> None:
        self.failed_only = not self.failed_only
        self.reload()

    def action_open(self) -> None:
        n = self.current()
        if n is not None and n.error_id is not None:
            self.post_message(OpenError(n.error_id))

    @on(DataTable.RowSelected, "#notifications-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
