"""Keys: the ? screen lists every binding with its id, the command palette offers them by name, and a keymap
from the config file rebinds them."""

from __future__ import annotations

import pytest

from db.enums import Role, Severity
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_issue, make_project
from tests.tui.conftest import console, screen_text, settle, toasts
from tui.app import binding_ids
from tui.screens import HelpScreen

pytestmark = pytest.mark.anyio


def seed(api: ApiClients) -> int:
    with api.collector.session() as session:
        issue = make_issue(session, make_project(session, "shop"), severity=Severity.HIGH, title="Null invoice")
        session.commit()
        return issue.id


def status(api: ApiClients, error_id: int) -> str:
    with api.as_role(Role.VIEWER) as viewer:
        return str(viewer.get(f"/errors/{error_id}/").json()["status"])


async def test_help_lists_keys_with_their_ids(api: ApiClients) -> None:
    async with console(api, size=(100, 60)) as pilot:
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)
        text = screen_text(pilot.app)
        for line in (
            "r  Resolve  [resolve]",
            "K  Acknowledge: you are on it  [acknowledge]",
            "/  Search with the q syntax  [filter]",
        ):
            assert line in text
        assert "Everywhere" in text and "Queue pane" in text
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, HelpScreen)


async def test_every_binding_has_an_id_and_a_description() -> None:
    from textual.binding import Binding

    from tui.app import ErrlogApp
    from tui.screens import ALL_SCREENS
    from tui.widgets import ALL_PANES, ListTable
    from tui.widgets.error_pane import ACTION_BINDINGS

    bindings = [*ErrlogApp.BINDINGS, *ListTable.BINDINGS, *ACTION_BINDINGS]
    for cls in (*ALL_SCREENS, *ALL_PANES):
        bindings += cls.BINDINGS
    assert all(isinstance(b, Binding) and b.id and b.description for b in bindings)
    assert {
        "resolve",
        "acknowledge",
        "assign",
        "auto_assign",
        "escalate",
        "ignore",
        "reopen",
        "comment",
    } <= binding_ids()
    assert {"filter", "sort", "select", "copy_id", "quit", "help", "open"} <= binding_ids()


async def test_a_keymap_rebinds_keys(api: ApiClients) -> None:
    error_id = seed(api)
    async with console(api, keymap={"resolve": "x", "nonsense": "z"}, size=(100, 60)) as pilot:
        assert "tui_keymap: unknown binding id(s) nonsense" in toasts(pilot.app)
        await pilot.press("r")  # no longer resolve
        await settle(pilot)
        assert status(api, error_id) == "unresolved"
        await pilot.press("x")
        await settle(pilot)
        assert status(api, error_id) == "resolved"
        await pilot.press("question_mark")
        assert "x  Resolve  [resolve]" in screen_text(pilot.app)


async def test_the_command_palette_runs_actions_by_name(api: ApiClients) -> None:
    error_id = seed(api)
    async with console(api, size=(100, 30)) as pilot:
        titles = [command.title for command in pilot.app.get_system_commands(pilot.app.screen)]
        for title in ("Resolve", "Assign", "Ack", "Filter", "Sort", "Select", "Escalate", "Ignore", "Help"):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"resolve")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert status(api, error_id) == "resolved"
