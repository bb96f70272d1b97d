"""The errlog-tui application: its screens, its global key bindings, and its connection to the server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import ClassVar, Literal

import httpx
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.client import ApiClient, ApiError
from tui.connection import Connector, Link
from tui.local import LocalStackError
from tui.messages import Connected
from tui.screens import ConnectionInfoScreen, ConsoleScreen, HelpScreen

log = logging.getLogger("errlog.tui")
State = Literal["connecting", "connected", "down", "refused", "failed"]


@dataclass(frozen=True)
class ConnectionState:
    """What the banner says: how the server is doing, and since when the shown data is stale."""

    state: State
    message: str = ""
    since: dt.datetime | None = None


class ErrlogApp(App[None]):
    """The on-call console: live panes over the REST API, keyboard first."""

    TITLE = "errlog"
    CSS_PATH = ["global.tcss", "app.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("D", "connection_info", "Connection", id="connection", show=False),
    ]

    connection: reactive[ConnectionState] = reactive(ConnectionState("connecting", "Connecting ..."))

    def __init__(
        self,
        connector: Connector,
        *,
        keymap: dict[str, str] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_seconds: float | None = 2.0,
        exit_on_hangup: bool = False,
    ) -> None:
        super().__init__()
        self.connector = connector
        self.requested_keymap = dict(keymap or {})
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.transport = transport
        self.refresh_seconds = refresh_seconds
        self.client: ApiClient | None = None
        self.link: Link | None = None
        self.internal_errors: list[BaseException] = []
        self.exit_on_hangup = exit_on_hangup
        self._background_due = False

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        # Messages carry server text ("[Errno 111]", tracebacks): never read them as markup.
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def get_default_screen(self) -> Screen[None]:
        return ConsoleScreen()

    def now(self) -> dt.datetime:
        return self.clock()

    def on_mount(self) -> None:
        self._apply_keymap()
        if self.exit_on_hangup:
            # A dropped SSH session (SIGHUP) or a kill (SIGTERM) ends the console the normal way, which stops the
            # local servers; without this they would outlive it.
            loop = asyncio.get_running_loop()
            for name in ("SIGHUP", "SIGTERM"):
                signum = getattr(signal, name, None)  # Windows has no SIGHUP
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    if signum is not None:
                        loop.add_signal_handler(signum, self.exit)
        self.connect()

    def _apply_keymap(self) -> None:
        known = binding_ids()
        unknown = sorted(set(self.requested_keymap) - known)
        if unknown:
            self.notify(
                f"tui_keymap: unknown binding id(s) {', '.join(unknown)}; the ? screen lists the ids",
                severity="warning",
                timeout=10,
            )
        self.set_keymap({k: v for k, v in self.requested_keymap.items() if k in known})

    # ---- connection ----

    @work(exclusive=True, exit_on_error=False, group="connect", description="connect")
    async def connect(self) -> None:
        link = await self.connector.connect(self._progress)
        if self.client is not None:
            await self.client.aclose()
        self.client = ApiClient(link.server, link.token, transport=self.transport)
        self.link = link
        self.sub_title = link.label
        self.connection = ConnectionState("connected")
        self._background_due = True  # started by the first answer the panes get: see _start_background
        self.screen_stack[0].post_message(Connected())

    def _start_background(self) -> None:
        """The connector's background work (the local worker, the demo's events), once the first screen has its
        answer: started with the first requests, the worker's own start (a second of CPU) slowed that screen."""
        if self._background_due:
            self._background_due = False
            self.run_worker(
                self.connector.background(), group="background", description="background", exit_on_error=False
            )

    def _progress(self, message: str) -> None:
        self.connection = ConnectionState("connecting", message)

    def report_success(self) -> None:
        self._start_background()
        if self.connection.state in ("down", "connecting") and self.client is not None:
            self.connection = ConnectionState("connected")
            self.notify("Connection restored", timeout=3)

    def report_failure(self, error: BaseException | None, what: str) -> None:
        """The one place a failed request ends: a banner for a lost server, a notification for the rest."""
        self._start_background()
        if isinstance(error, ApiError):
            if error.disconnected:
                if self.connection.state != "down":
                    self.connection = ConnectionState("down", error.message, self.now())
                if what != "load":
                    self.notify(f"{what} failed: {error.message}", severity="error")
            elif error.kind == "unauthorized":
                self.connection = ConnectionState("refused", error.message, self.now())
            else:
                self.notify(f"{what} failed: {error.message}" if what != "load" else error.message, severity="error")
            return
        # A bug, not a server answer: keep running, say so, and keep it for the tests to find.
        self.internal_errors.append(error or RuntimeError("unknown failure"))
        log.error("internal error in %s", what, exc_info=error)
        self.notify(f"{what} failed: internal error {type(error).__name__}: {error}", severity="error")

    @on(Worker.StateChanged)
    def _own_worker_failed(self, event: Worker.StateChanged) -> None:
        """The app's own workers: connecting (a failure is shown in the banner and stays) and the background."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.group != "connect":
            self.report_failure(error, event.worker.description or "background")
            return
        if isinstance(error, LocalStackError | ApiError):
            self.connection = ConnectionState("failed", str(error), self.now())
        else:
            self.connection = ConnectionState("failed", f"internal error {type(error).__name__}: {error}", self.now())
            self.internal_errors.append(error or RuntimeError("connect failed"))

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        self.connector.close()

    # ---- what the screens show about the connection and the keys ----

    def key_text(self, binding: Binding) -> str:
        """The key(s) for `binding` after the user's keymap, as the footer shows them."""
        keys = self.requested_keymap.get(binding.id or "", binding.key) if binding.id else binding.key
        shown = [self.get_key_display(Binding(key.strip(), binding.action)) for key in keys.split(",") if key.strip()]
        return binding.key_display if binding.key_display and keys == binding.key else " ".join(shown)

    def connection_text(self) -> str:
        link = self.link
        if link is None:
            return f"Not connected yet: {self.connection.message or self.connection.state}"
        lines = [f"Server:  {link.server}  ({link.label})", f"State:   {self.connection.state}"]
        local = link.local
        if local is not None:
            lines += [
                f"Data:    {local.data_dir}",
                f"Log:     {local.log_path}",
                f"Worker:  {'running' if local.worker else 'not available (no `errlog worker` command)'}",
                "",
                "Send errors here:",
            ]
            for project in local.projects:
                for dsn in project.dsns:
                    lines.append(f"  {project.name}: SENTRY_DSN={dsn}")
            if not local.projects:
                lines.append(f"  no project yet: {self._cli_prefix()}errlog project create NAME  (prints its DSN)")
            lines.append(f"  JSON webhooks: POST {local.webhook_url}")
            lines.append("  with the project's webhook token (printed once by `errlog project create`)")
        return "\n".join(lines)

    def _cli_prefix(self) -> str:
        # The demo's database is not the default one: the CLI must be pointed at it.
        if self.link is None or self.link.local is None or self.link.label != "demo":
            return ""
        return f"ERRLOG_DATA_DIR={self.link.local.data_dir} "

    def empty_queue_hint(self) -> str:
        if self.link is None or self.link.local is None:
            return "No open errors. All quiet."
        local = self.link.local
        if not local.projects:
            return (
                "No errors yet, and no project to send them.\n"
                f"Create one:  {self._cli_prefix()}errlog project create NAME\n"
                "then point a Sentry SDK at the DSN it prints (press D to see it again)."
            )
        first = local.projects[0]
        dsn = first.dsns[0] if first.dsns else "(no DSN)"
        return (
            f"No open errors yet. Point your services here:\n  SENTRY_DSN={dsn}\n"
            f"  or POST JSON to {local.server}/api/error-logging/webhook/<kind>/\n(D shows every project's DSN)"
        )

    # ---- global actions ----

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_connection_info(self) -> None:
        if not isinstance(self.screen, ConnectionInfoScreen):
            self.push_screen(ConnectionInfoScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette offers every key binding active where it was opened, under its description."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.id or binding.id in seen or not active.enabled or not binding.description:
                continue
            seen.add(binding.id)
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip or binding.description} (key: {self.get_key_display(binding)})",
                partial(self.run_action, binding.action, active.node),
            )


def binding_ids() -> set[str]:
    """Every binding id a keymap may name."""
    from tui.screens import ALL_SCREENS
    from tui.widgets import ALL_PANES, FilterBar, ListTable

    ids: set[str] = set()
    classes: tuple[type, ...] = (ErrlogApp, ListTable, FilterBar, *ALL_SCREENS, *ALL_PANES)
    for cls in classes:
        for klass in cls.__mro__:
            for binding in getattr(klass, "BINDINGS", None) or []:
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids
