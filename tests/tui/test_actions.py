"""Every triage key against a live collector: what the screen confirms, and what the server then holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from db.enums import IssueStatus, Role, Severity
from db.types import utcnow
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_developer, make_issue, make_project
from tests.tui.conftest import console, cursor_error, queue_ids, screen_text, settle, toasts, wait_until
from tui.screens import AssignPicker, ConfirmScreen, IgnoreDialog, TextPrompt
from tui.widgets import QueuePane

pytestmark = pytest.mark.anyio


def seed(api: ApiClients) -> dict[str, int]:
    """A project with Ana on call (primary), Ben as secondary, Carl off duty, and three open errors."""
    now = utcnow()
    with api.collector.session() as session:
        shop = make_project(session, "shop")
        people = {
            name: make_developer(session, full, email=f"{name}@example.com")
            for name, full in (("ana", "Ana Lima"), ("ben", "Ben Okafor"), ("carl", "Carl Berg"))
        }
        errors = {
            "first": make_issue(session, shop, severity=Severity.CRITICAL, title="Gateway timeout", last_seen=now),
            "second": make_issue(
                session, shop, severity=Severity.HIGH, title="Null invoice", last_seen=now - dt.timedelta(minutes=5)
            ),
            "third": make_issue(
                session, shop, severity=Severity.LOW, title="Slow page", last_seen=now - dt.timedelta(hours=1)
            ),
            "resolved": make_issue(session, shop, severity=Severity.HIGH, title="Old bug", status=IssueStatus.RESOLVED),
        }
        session.commit()
        ids = {key: issue.id for key, issue in errors.items()}
        ids.update({name: developer.id for name, developer in people.items()})
        ids["project"] = shop.id
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    rotation = {"start_date": start, "handoff_time": "00:00", "timezone": "UTC", "shift_hours": 168}
    with api.as_role(Role.ADMIN) as admin:
        admin.post(
            "/oncall/schedules/",
            json={
                "name": "shop on-call",
                "project_id": ids["project"],
                "rotations": [
                    {"level": 1, "participant_ids": [ids["ana"]], **rotation},
                    {"level": 2, "participant_ids": [ids["ben"]], **rotation},
                ],
            },
        ).raise_for_status()
    return ids


def server_error(api: ApiClients, error_id: int) -> dict[str, Any]:
    with api.as_role(Role.VIEWER) as viewer:
        answer: dict[str, Any] = viewer.get(f"/errors/{error_id}/").raise_for_status().json()
        return answer


def audit_actions(api: ApiClients, error_id: int) -> list[tuple[str, str]]:
    with api.as_role(Role.VIEWER) as viewer:
        page = viewer.get("/audit/", params={"target_type": "error", "target_id": str(error_id)}).raise_for_status()
        return [(row["action"], row["actor"]) for row in page.json()["items"]]


async def test_resolve(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        assert cursor_error(pilot.app) == ids["first"]
        await pilot.press("r")
        await settle(pilot)
        assert f"Resolved #{ids['first']}" in toasts(pilot.app)
        pane = pilot.app.screen.query_one(QueuePane)
        assert pane.errors[ids["first"]].status == "resolved"  # the row changed in place
        assert server_error(api, ids["first"])["status"] == "resolved"
        assert ("error.resolve", "responder-token") in audit_actions(api, ids["first"])
        pane.reload()
        await settle(pilot)
        assert ids["first"] not in queue_ids(pilot.app)


async def test_acknowledge(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        assert "errlog: 3 unacknowledged" in screen_text(pilot.app)
        await pilot.press("K")
        await settle(pilot)
        held = server_error(api, ids["first"])
        assert (held["status"], held["acknowledged_by"]) == ("acknowledged", "responder-token")
        assert ("error.acknowledge", "responder-token") in audit_actions(api, ids["first"])
        line = next(row for row in screen_text(pilot.app).splitlines() if "Gateway timeout" in row)
        assert "✓" in line
        pilot.app.screen.query_one(QueuePane).reload()
        await settle(pilot)
        assert "errlog: 2 unacknowledged" in screen_text(pilot.app)


async def test_assign_with_the_picker(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api, size=(100, 30)) as pilot:
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AssignPicker)
        lines = [line for line in screen_text(pilot.app).splitlines() if "Ana Lima" in line or "Ben Okafor" in line]
        assert "Ana Lima" in lines[0] and "L1" in lines[0]  # on call first, primary before secondary
        assert "Ben Okafor" in lines[1] and "L2" in lines[1]
        await pilot.press(*"carl")  # typing filters
        await pilot.press("enter")
        await settle(pilot)
        assert server_error(api, ids["first"])["assignee"]["name"] == "Carl Berg"
        assert ("error.assign", "responder-token") in audit_actions(api, ids["first"])
        assert f"Assigned #{ids['first']} to Carl Berg" in toasts(pilot.app)


async def test_auto_assign_picks_the_on_call(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("A")
        await settle(pilot)
        assert server_error(api, ids["first"])["assignee"]["name"] == "Ana Lima"
        assert "to Ana Lima (on call, least loaded)" in toasts(pilot.app)


async def test_escalate_with_a_reason(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TextPrompt)
        await pilot.press(*"no answer")
        await pilot.press("enter")
        await settle(pilot)
        held = server_error(api, ids["first"])
        assert held["escalation_level"] >= 1
        assert any(entry["kind"] == "escalation" and "no answer" in str(entry) for entry in held["timeline"])
        assert f"Escalated #{ids['first']} to level" in toasts(pilot.app)


async def test_escalate_cancelled_changes_nothing(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("e", "escape")
        await settle(pilot)
        assert server_error(api, ids["first"])["escalation_level"] == 0


async def test_ignore_for_an_hour(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(pilot.app.screen, IgnoreDialog)
        await pilot.press("down", "enter")  # "for 1 hour"
        await settle(pilot)
        held = server_error(api, ids["first"])
        assert held["status"] == "ignored"
        until = dt.datetime.fromisoformat(held["snooze_until"])
        assert dt.timedelta(minutes=55) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=61)
        assert f"Ignored #{ids['first']} for 1h" in toasts(pilot.app)


async def test_ignore_until_more_events(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("i", "end", "enter")  # the last option: custom
        await pilot.press(*"50 events")
        await pilot.press("enter")
        await settle(pilot)
        held = server_error(api, ids["first"])
        assert (held["status"], held["snooze_event_limit"]) == ("ignored", 50)


async def test_reopen(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        pane = pilot.app.screen.query_one(QueuePane)
        pane.set_query("is:resolved")
        await settle(pilot)
        assert queue_ids(pilot.app) == [ids["resolved"]]
        await pilot.press("R")
        await settle(pilot)
        assert server_error(api, ids["resolved"])["status"] == "unresolved"
        assert ("error.reopen", "responder-token") in audit_actions(api, ids["resolved"])


async def test_comment(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("c")
        await pilot.press(*"rolled back 5.2.1")
        await pilot.press("enter")
        await settle(pilot)
        timeline = server_error(api, ids["first"])["timeline"]
        assert any(entry["kind"] == "comment" and "rolled back 5.2.1" in str(entry) for entry in timeline)
        assert f"Comment added to #{ids['first']}" in toasts(pilot.app)


async def test_bulk_resolve_asks_first(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("space", "space")  # the first two rows
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        assert "Resolve 2 errors?" in screen_text(pilot.app)
        await pilot.press("n")  # no: nothing changes
        await settle(pilot)
        assert server_error(api, ids["first"])["status"] == "unresolved"
        await pilot.press("r", "y")
        await settle(pilot)
        assert {server_error(api, ids[k])["status"] for k in ("first", "second")} == {"resolved"}
        assert server_error(api, ids["third"])["status"] == "unresolved"
        assert "Resolved 2 of 2 errors" in toasts(pilot.app)
        await settle(pilot)
        assert queue_ids(pilot.app) == [ids["third"]]  # the bulk change was read back
        assert pilot.app.screen.query_one(QueuePane).selected == set()


async def test_bulk_acknowledge_does_not_ask(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("space", "space", "space", "K")
        await settle(pilot)
        assert {server_error(api, ids[k])["status"] for k in ("first", "second", "third")} == {"acknowledged"}


async def test_a_viewer_is_told_no_and_nothing_breaks(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api, Role.VIEWER) as pilot:
        await pilot.press("r")
        await settle(pilot)
        shown = toasts(pilot.app)
        assert f"Resolve #{ids['first']} failed: not allowed" in shown
        assert "responder role" in shown
        assert server_error(api, ids["first"])["status"] == "unresolved"
        await pilot.press("j")  # still running, still responsive
        assert cursor_error(pilot.app) == ids["second"]


async def test_copy_the_error_id(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("y")
        assert pilot.app.clipboard == str(ids["first"])
        await pilot.press("space", "space", "y")
        await wait_until(pilot, lambda: pilot.app.clipboard == f"{ids['first']},{ids['second']}", "both ids copied")
