"""errlog-tui test helpers: a live collector on SQLite with tokens (the collector and API fixtures), the app
driven by Pilot against it, and the screen read back as plain text."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from db.enums import Role
from tests.collector.api.conftest import ApiClients, api  # noqa: F401  (fixtures used by the TUI tests)
from tests.collector.conftest import collector, collector_settings  # noqa: F401
from tui.app import ErrlogApp
from tui.connection import RemoteConnector


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite_template: Path) -> str:
    """The TUI runs against SQLite, the embedded default (the API's own tests cover PostgreSQL)."""
    path = tmp_path / "errlog.db"
    shutil.copy(migrated_sqlite_template, path)
    return f"sqlite:///{path}"


def screen_text(app: App[object]) -> str:
    """What the terminal shows now, as plain text (the same render an SVG screenshot is made from)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def settle(pilot: Pilot[object]) -> None:
    """Wait until every worker (HTTP request) has finished and the screen has caught up."""
    for _ in range(3):
        # A failed request is the app's to report (and the test's to check), not a reason to stop waiting.
        with contextlib.suppress(WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def wait_until(pilot: Pilot[object], condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Let the app run (its live refresh, its workers) until `condition` holds; fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.05)


@asynccontextmanager
async def console(
    clients: ApiClients, role: Role = Role.RESPONDER, *, size: tuple[int, int] = (80, 24), **options: Any
) -> AsyncIterator[Pilot[None]]:
    """errlog-tui on the live collector of `clients` with `role`'s token, connected and with its first data shown.

    No live refresh unless `refresh_seconds` is given: the tests say when to reload. After the block, the app
    must have met no internal error (a bug shown as a notification instead of a crash)."""
    options.setdefault("refresh_seconds", None)
    app = ErrlogApp(RemoteConnector(clients.collector.url, clients.tokens[role], "test"), **options)
    async with app.run_test(size=size, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.client is not None, "the connection")
        await settle(pilot)
        yield pilot
    assert app.internal_errors == []


def queue_ids(app: App[object]) -> list[int]:
    from tui.widgets import QueuePane

    return list(app.screen.query_one(QueuePane).order)


def cursor_error(app: App[object]) -> int | None:
    from tui.widgets import QueuePane

    return app.screen.query_one(QueuePane).cursor_id()


def toasts(app: App[object]) -> str:
    """The notifications on screen, whole (a long one wraps on screen, which a phrase search would trip over)."""
    from textual.widgets._toast import Toast

    return "\n".join(toast.render().plain for toast in app.screen.query(Toast))
