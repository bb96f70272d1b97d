"""The main screen: header, pane strip, connection banner, the panes, and the footer of keys."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header

from tui.messages import Connected, ErrorsChanged, ErrorsTouched, OpenError, SearchQueue, UnacknowledgedCount
from tui.widgets import ALL_PANES, ConnectionBanner, DetailPane, PaneBar, QueuePane
from tui.widgets.pane import Pane


class ConsoleScreen(Screen[None]):
    """Switches panes (1-6, tab) and carries news between them: an action's result, an error to open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *[
            Binding(
                str(number), f"show_pane('{pane.pane_id()}')", pane.PANE_TITLE, id=f"pane.{pane.pane_id()}", show=False
            )
            for number, pane in enumerate(ALL_PANES, start=1)
        ],
        Binding("tab", "cycle_pane(1)", "Next pane", id="pane.next", show=False),
        Binding("shift+tab", "cycle_pane(-1)", "Previous pane", id="pane.previous", show=False),
        Binding("escape", "show_pane('queue')", "Back to queue", id="back", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="!")
        yield PaneBar([(pane.pane_id(), pane.PANE_TITLE) for pane in ALL_PANES], id="pane-bar")
        yield ConnectionBanner(id="banner")
        with ContentSwitcher(initial="queue", id="panes"):
            for pane in ALL_PANES:
                yield pane(id=pane.pane_id())
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(QueuePane).table.focus()

    @property
    def switcher(self) -> ContentSwitcher:
        return self.query_one("#panes", ContentSwitcher)

    def pane(self, pane_id: str) -> Pane:
        return self.query_one(f"#{pane_id}", Pane)

    def action_show_pane(self, pane_id: str) -> None:
        if self.switcher.current != pane_id:
            self.switcher.current = pane_id
            self.query_one(PaneBar).active = pane_id
        self.pane(pane_id).activate()

    def action_cycle_pane(self, step: int) -> None:
        ids = [pane.pane_id() for pane in ALL_PANES]
        current = ids.index(self.switcher.current or "queue")
        self.action_show_pane(ids[(current + step) % len(ids)])

    @on(Connected)
    def _connected(self) -> None:
        for pane in self.query(Pane):
            if pane.display:
                pane.reload()

    @on(OpenError)
    def _open_error(self, message: OpenError) -> None:
        self.query_one(DetailPane).open(message.error_id, message.summary)
        self.action_show_pane("detail")

    @on(SearchQueue)
    def _search(self, message: SearchQueue) -> None:
        self.query_one(QueuePane).set_query(message.query)
        self.action_show_pane("queue")

    @on(ErrorsChanged)
    def _errors_changed(self, message: ErrorsChanged) -> None:
        self.query_one(QueuePane).apply_errors(message.errors)
        self.query_one(DetailPane).apply_errors(message.errors)

    @on(ErrorsTouched)
    def _errors_touched(self, message: ErrorsTouched) -> None:
        self.query_one(QueuePane).reload()
        detail = self.query_one(DetailPane)
        if detail.error_id in message.ids:
            detail.reload()

    @on(UnacknowledgedCount)
    def _unacknowledged(self, message: UnacknowledgedCount) -> None:
        self.app.title = f"errlog: {message.count} unacknowledged"
        self.query_one(PaneBar).set_label("queue", f"Queue ({message.count})")
