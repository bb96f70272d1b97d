"""One error in full: what broke and where (stack trace with source), who it hits, and what was done about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from tui.client import ApiClient
from tui.detail_header import EventPosition, header_text
from tui.event_view import (
    breadcrumbs,
    contexts_text,
    exception_heading,
    exceptions,
    frame_groups,
    request_text,
    user_text,
)
from tui.format import clock
from tui.models import ErrorDetail, ErrorSummary, EventDetail, EventSummary, TimelineEntry
from tui.widgets.error_pane import ACTION_BINDINGS, ErrorPane

SECTIONS = (
    ("tags", "Tags"),
    ("breadcrumbs", "Breadcrumbs"),
    ("request", "Request"),
    ("user", "User and contexts"),
    ("timeline", "Timeline"),
)
EVENTS_PAGE = 50


@dataclass
class Loaded:
    error_id: int
    detail: ErrorDetail
    events: list[EventSummary]


class DetailPane(ErrorPane):
    """The error opened from the queue. Its stack trace stays put while the rest refreshes; n/p step through events."""

    PANE_ID = "detail"
    PANE_TITLE = "Detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ACTION_BINDINGS,
        Binding("j,down", "move(1)", "Next section", id="detail.next", show=False),
        Binding("k,up", "move(-1)", "Previous section", id="detail.previous", show=False),
        Binding("n", "step_event(1)", "Older event", id="event.older", tooltip="Show the next older event"),
        Binding("p", "step_event(-1)", "Newer event", id="event.newer", tooltip="Show the next newer event"),
        Binding("x", "toggle_frames", "Expand frames", id="detail.toggle_frames", tooltip="Expand or fold all frames"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.error_id: int | None = None
        self.summary: ErrorSummary | None = None  # what the queue knew of it, until the detail has loaded
        self.detail: ErrorDetail | None = None
        self.events: list[EventSummary] = []
        self.event_index = 0
        self.event: EventDetail | None = None
        self.shown_event_id: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-header")
            yield Vertical(id="detail-frames")
            for key, title in SECTIONS:
                with Collapsible(title=title, id=f"section-{key}", collapsed=key not in ("tags", "timeline")):
                    yield Static(id=f"detail-{key}")
        yield Static(Text("No error open: choose one in the queue (1) and press enter."), id="detail-empty")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#detail-scroll").display = False

    def focus_target(self) -> Widget | None:
        titles = self.query("#detail-scroll CollapsibleTitle")
        return titles.first() if titles else None

    def open(self, error_id: int, summary: ErrorSummary | None = None) -> None:
        """Show this error (a summary from the queue shows at once while the rest loads)."""
        if error_id != self.error_id:
            self.error_id = error_id
            self.summary = summary
            self.detail = None
            self.events = []
            self.event_index = 0
            self.event = None
            self.shown_event_id = None
            self.query_one("#detail-frames").remove_children()
            if summary is not None:
                self._show_header(summary)
            self.query_one("#detail-scroll").display = True
            self.query_one("#detail-empty").display = False
        self.reload()

    def targets(self) -> list[ErrorSummary]:
        # Before the detail has loaded, the keys act on the error the header already shows.
        if self.detail is not None:
            return [self.detail.summary()]
        return [self.summary] if self.summary is not None else []

    def apply_errors(self, errors: list[ErrorSummary]) -> None:
        for error in errors:
            if error.id == self.error_id:
                self.summary = error
                self._show_header(error)
                self.reload()  # the timeline now holds the action

    async def fetch(self, client: ApiClient) -> Loaded | None:
        error_id = self.error_id
        if error_id is None:
            return None
        detail = await client.error(error_id)
        events = self.events
        if not events or self.event_index == 0:
            events = (await client.events(error_id, limit=EVENTS_PAGE)).items
        return Loaded(error_id, detail, events)

    def show(self, data: Loaded | None) -> None:
        if data is None or data.error_id != self.error_id:
            return
        self.detail = data.detail
        self.events = data.events
        self._show_header(data.detail)
        if self.shown_event_id is None and data.detail.latest_event is not None:
            self.event = data.detail.latest_event
            self._show_event(self.event)
        elif self.shown_event_id is None:
            self._show_event(None)
        self._show_tags(data.detail)
        self._show_timeline(data.detail.timeline, data.detail.timeline_truncated)

    # ---- drawing ----

    def _show_header(self, error: ErrorSummary) -> None:
        detail = error if isinstance(error, ErrorDetail) else self.detail
        position = None
        if self.events:
            position = EventPosition(self.event_index, len(self.events), self.event)
        self.query_one("#detail-header", Static).update(header_text(error, detail, position, self.errlog.now()))

    def _show_event(self, event: EventDetail | None) -> None:
        self.shown_event_id = event.event_id if event is not None else ""
        frames = self.query_one("#detail-frames")
        frames.remove_children()
        payload = event.payload if event is not None else None
        widgets: list[Widget] = []
        if event is not None and event.payload_archived:
            widgets.append(Static(Text("The payload of this event is in the archive, not in this answer.", "dim")))
        chain = exceptions(payload)
        for position, value in enumerate(chain):
            heading = exception_heading(value)
            if position:
                heading = Text("caused by  ", "dim") + heading
            widgets.append(Static(heading, classes="exception-heading"))
            first_in_app = True
            for group in frame_groups(value):
                expand = group.in_app and first_in_app and position == 0
                first_in_app = first_in_app and not group.in_app
                collapsible = Collapsible(
                    Static(group.body(), classes="frame-body"),
                    title=Content.from_rich_text(group.title()).markup,
                    collapsed=not expand,
                    classes="frame in-app" if group.in_app else "frame",
                )
                widgets.append(collapsible)
        if not chain:
            message = (payload or {}).get("message") or (event.message if event else None)
            if isinstance(message, dict):
                message = message.get("formatted") or message.get("message")
            widgets.append(Static(Text(str(message or "(no exception or message in this event)"))))
        frames.mount_all(widgets)
        self.query_one("#detail-breadcrumbs", Static).update(breadcrumbs(payload))
        self.query_one("#detail-request", Static).update(request_text(payload))
        user = user_text(payload)
        user.append("\n")
        user.append_text(contexts_text(payload))
        self.query_one("#detail-user", Static).update(user)

    def _show_tags(self, detail: ErrorDetail) -> None:
        text = Text()
        for tag in detail.tags:
            if text:
                text.append("\n")
            text.append(f"{tag.key:<14.14} ", "bold")
            for value in tag.values[:4]:
                text.append(f"{value.value} ")
                text.append(f"{value.share:.0%}  ", "dim")
        if not detail.tags:
            text.append("(no tags)", "dim")
        else:
            text.append(f"\nover the newest {detail.tags_sampled_events} events", "dim")
        self.query_one("#detail-tags", Static).update(text)

    def _show_timeline(self, entries: list[TimelineEntry], truncated: bool) -> None:
        text = Text()
        if truncated:
            text.append("(older entries left out)\n", "dim")
        for entry in entries:
            if text:
                text.append("\n")
            text.append(clock(entry.at)[5:16], "dim")
            text.append(f" {entry.kind:<12} ", "cyan")
            text.append(entry.summary)  # the server's sentence names who did it
            notification = entry.notification or {}
            if notification.get("status") in ("failed", "dead"):
                text.append(f"  ({notification.get('last_error') or notification.get('status')})", "red")
        self.query_one("#detail-timeline", Static).update(text or Text("(nothing yet)", "dim"))

    # ---- keys ----

    def action_move(self, step: int) -> None:
        if step > 0:
            self.screen.focus_next()
        else:
            self.screen.focus_previous()

    def action_toggle_frames(self) -> None:
        frames = list(self.query("#detail-frames Collapsible").results(Collapsible))
        expand = any(frame.collapsed for frame in frames)
        for frame in frames:
            frame.collapsed = not expand

    def action_step_event(self, step: int) -> None:
        if not self.events:
            return
        index = self.event_index + step
        if not 0 <= index < len(self.events):
            self.notify("No older event" if step > 0 else "This is the newest event", timeout=2)
            return
        self.event_index = index
        self.load_event(self.events[index])

    @work(exclusive=True, exit_on_error=False, group="event", description="load event")
    async def load_event(self, summary: EventSummary) -> None:
        event = await self.client.event(summary.event_id, project_id=summary.project_id)
        if self.error_id != summary.issue_id:
            return
        self.event = event
        self._show_event(event)
        if self.detail is not None:
            self._show_header(self.detail)
