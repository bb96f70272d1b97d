"""SVG snapshots of every pane, the help screen and the assign picker, at 80x24 and 160x48, on fixed data and a
fixed clock (tests/tui/fake_api.py). Update after a deliberate change with `pytest tests/tui --snapshot-update`."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui import fake_api
from tests.tui.conftest import settle
from tui.app import ErrlogApp
from tui.connection import RemoteConnector

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same colours on every machine: no NO_COLOR, FORCE_COLOR or Textual settings from the outside."""
    for name in list(os.environ):
        outside = name.startswith("TEXTUAL") and not name.startswith("TEXTUAL_SNAPSHOT")  # the plugin's own stay
        if name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES") or outside:
            monkeypatch.delenv(name)


def snapshot_app() -> ErrlogApp:
    return ErrlogApp(
        RemoteConnector("http://errlog.test", "snapshot-token", "snapshot"),
        transport=fake_api.transport(),
        clock=lambda: fake_api.NOW,
        refresh_seconds=None,
    )


def keys(*presses: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)

    return run


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "presses",
    [
        pytest.param((), id="queue"),
        pytest.param(("enter",), id="detail"),
        pytest.param(("3",), id="stats"),
        pytest.param(("4",), id="patterns"),
        pytest.param(("5",), id="workload"),
        pytest.param(("6",), id="notifications"),
        pytest.param(("question_mark",), id="help"),
        pytest.param(("a",), id="assign-picker"),
    ],
)
def test_snapshot(snap_compare: Any, presses: tuple[str, ...], size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=keys(*presses))
