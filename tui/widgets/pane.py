"""The base of every pane: loads from the API in a worker, refreshes itself while shown, keeps its data on failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from tui.client import ApiClient, ApiError

if TYPE_CHECKING:
    from tui.app import ErrlogApp


class Pane(Widget):
    """A live view of one part of the API. Subclasses say what to fetch and how to show it; the base schedules the
    loads (one at a time, never piling up on a slow server) and sends every failure to the app."""

    PANE_ID: ClassVar[str] = ""
    PANE_TITLE: ClassVar[str] = ""

    @classmethod
    def pane_id(cls) -> str:
        return cls.PANE_ID

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.loaded = False
        self._load_worker: Worker[None] | None = None

    @property
    def errlog(self) -> ErrlogApp:
        return cast("ErrlogApp", self.app)

    @property
    def client(self) -> ApiClient:
        client = self.errlog.client
        if client is None:
            raise ApiError("not connected to a server yet", kind="unreachable")
        return client

    def on_mount(self) -> None:
        seconds = self.errlog.refresh_seconds
        if seconds:
            self.set_interval(seconds, self._tick)

    def _tick(self) -> None:
        busy = self._load_worker is not None and not self._load_worker.is_finished
        if self.display and self.errlog.client is not None and not busy:
            self.reload()

    def reload(self) -> None:
        """Fetch now (the worker replaces a load still running)."""
        if self.errlog.client is not None:
            self._load_worker = self.load()

    def activate(self) -> None:
        """The pane was just shown: focus its main widget and bring its data up to date."""
        target = self.focus_target()
        if target is not None:
            target.focus()
        self.reload()

    def focus_target(self) -> Widget | None:
        return None

    @work(exclusive=True, exit_on_error=False, group="load", description="load")
    async def load(self) -> None:
        data = await self.fetch(self.client)
        self.show(data)
        self.loaded = True

    async def fetch(self, client: ApiClient) -> Any:
        raise NotImplementedError

    def show(self, data: Any) -> None:
        raise NotImplementedError

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """Every request a pane makes ends here: success clears a connection banner, failure goes to the app."""
        if event.state == WorkerState.ERROR:
            self.errlog.report_failure(event.worker.error, event.worker.description or "request")
        elif event.state == WorkerState.SUCCESS:
            self.errlog.report_success()
