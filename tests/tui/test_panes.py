"""Stats, patterns, workload and notifications panes against a live collector, with what their keys change."""

from __future__ import annotations

import datetime as dt

import pytest

from db.enums import Channel, IssueStatus, NotificationStatus, PatternKind, Role, Severity
from db.models import Notification, Pattern
from db.types import utcnow
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_developer, make_event, make_issue, make_project
from tests.tui.conftest import console, queue_ids, screen_text, settle, toasts
from tui.screens import ChoiceScreen
from tui.widgets import DetailPane, QueuePane

pytestmark = pytest.mark.anyio


def seed(api: ApiClients) -> dict[str, int]:
    now = utcnow()
    with api.collector.session() as session:
        shop, pay = make_project(session, "shop"), make_project(session, "payments")
        ana = make_developer(session, "Ana Lima", email="ana@example.com")
        ben = make_developer(session, "Ben Okafor", email="ben@example.com")
        timeout = make_issue(
            session, pay, severity=Severity.CRITICAL, title="Gateway timeout", assignee_id=ana.id, assigned_at=now
        )
        slow = make_issue(session, shop, severity=Severity.LOW, title="Slow page")
        fixed = make_issue(
            session, shop, severity=Severity.HIGH, title="Fixed bug", status=IssueStatus.RESOLVED, resolved_at=now
        )
        for n in range(6):
            make_event(session, timeout, received_at=now - dt.timedelta(minutes=n))
        make_event(session, slow, received_at=now)
        session.add(
            Pattern(
                kind=PatternKind.SPIKE,
                project_id=pay.id,
                issue_id=timeout.id,
                description="6 events in 5 minutes, 12x the usual rate",
                score=12.0,
                detected_at=now,
            )
        )
        session.add_all(
            [
                Notification(
                    idempotency_key="n1",
                    issue_id=timeout.id,
                    project_id=pay.id,
                    developer_id=ana.id,
                    channel=Channel.SLACK,
                    target="#oncall",
                    trigger="new",
                    status=NotificationStatus.DEAD,
                    attempts=5,
                    max_attempts=5,
                    last_status_code=500,
                    last_error="upstream unavailable",
                    created_at=now - dt.timedelta(minutes=1),
                ),
                Notification(
                    idempotency_key="n2",
                    issue_id=timeout.id,
                    project_id=pay.id,
                    developer_id=ana.id,
                    channel=Channel.NTFY,
                    target="ana-oncall",
                    trigger="new",
                    status=NotificationStatus.SENT,
                    attempts=1,
                    max_attempts=5,
                    created_at=now - dt.timedelta(minutes=2),
                    sent_at=now - dt.timedelta(minutes=2),
                ),
            ]
        )
        session.commit()
        ids = {"timeout": timeout.id, "slow": slow.id, "fixed": fixed.id, "ana": ana.id, "ben": ben.id, "pay": pay.id}
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    with api.as_role(Role.ADMIN) as admin:
        admin.post(
            "/oncall/schedules/",
            json={
                "name": "payments on-call",
                "project_id": ids["pay"],
                "rotations": [
                    {
                        "level": 1,
                        "participant_ids": [ids["ana"]],
                        "start_date": start,
                        "handoff_time": "00:00",
                        "timezone": "UTC",
                        "shift_hours": 168,
                    },
                ],
            },
        ).raise_for_status()
    return ids


async def test_stats(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api, size=(120, 50)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "Last 24h: 7 events · open 2 (crit 1 · high 0 · medi 0 · low 1)" in text
        assert "resolved 1" in text
        assert "Events per hour, last 24h" in text
        assert "payments" in text and "6 events · 1 open" in text
        top = text.split("Top errors", 1)[1]
        assert top.index("Gateway timeout") < top.index("Slow page")
        await pilot.press("w")
        await settle(pilot)
        assert "Last 7d:" in screen_text(pilot.app)
        await pilot.press("enter")  # the top error opens in the detail pane
        await settle(pilot)
        assert pilot.app.screen.query_one(DetailPane).error_id == ids["timeout"]
        assert "[2 Detail]" in screen_text(pilot.app)


async def test_patterns(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api, size=(120, 30)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        text = screen_text(pilot.app)
        row = next(line for line in text.splitlines() if "spike" in line)
        assert "payments" in row and "Gateway timeout" in row
        assert "spike: 6 events in 5 minutes, 12x the usual rate" in text
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen.query_one(DetailPane).error_id == ids["timeout"]


async def test_workload_and_assigning_from_it(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api, size=(120, 30)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "payments" in text and "L1 Ana Lima" in text  # who is on call now
        ana = next(line for line in text.splitlines() if line.startswith(" Ana Lima"))
        assert "L1" in ana and "1/0/0/0" in ana  # one critical open error
        ben = next(line for line in text.splitlines() if line.startswith(" Ben Okafor"))
        assert "0/0/0/0" in ben
        # a: give the developer under the cursor (Ana, on call, first) an unassigned error.
        await pilot.press("j")  # Ben
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ChoiceScreen)
        assert "Slow page" in screen_text(pilot.app)
        await pilot.press("enter")
        await settle(pilot)
        with api.as_role(Role.VIEWER) as viewer:
            assert viewer.get(f"/errors/{ids['slow']}/").json()["assignee"]["name"] == "Ben Okafor"
        assert f"Assigned #{ids['slow']} to Ben Okafor" in toasts(pilot.app)
        # enter: that developer's errors, in the queue.
        await pilot.press("enter")
        await settle(pilot)
        assert "search: assigned:ben@example.com" in screen_text(pilot.app)
        assert queue_ids(pilot.app) == [ids["slow"]]


async def test_notifications_and_retry(api: ApiClients) -> None:
    seed(api)
    async with console(api, size=(120, 30)) as pilot:
        await pilot.press("6")
        await settle(pilot)
        text = screen_text(pilot.app)
        dead = next(line for line in text.splitlines() if "slack" in line)
        assert "dead" in dead and "5/5" in dead and "Gateway timeout" in dead
        assert "last error: HTTP 500: upstream unavailable" in text
        assert "2 shown · 1 failing" in text
        await pilot.press("r")
        await settle(pilot)
        with api.as_role(Role.VIEWER) as viewer:
            rows = {n["channel"]: n for n in viewer.get("/notifications/").json()["items"]}
            audit = viewer.get("/audit/", params={"target_type": "notification"}).json()["items"]
        assert rows["slack"]["status"] in ("pending", "sending", "sent", "failed")  # handed back to the worker
        assert [a["action"] for a in audit] == ["notification.retry"]
        assert "Notification #" in toasts(pilot.app)
        # A delivered one is not retried.
        await pilot.press("j", "r")
        assert "only failed, dead or suppressed ones are retried" in toasts(pilot.app)
        # f: failed only.
        await pilot.press("f")
        await settle(pilot)
        assert "failed and dead deliveries" in screen_text(pilot.app)


async def test_queue_survives_switching_panes(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("tab", "tab", "tab", "shift+tab", "1")
        await settle(pilot)
        assert queue_ids(pilot.app) == [ids["timeout"], ids["slow"]]
        assert pilot.app.screen.query_one(QueuePane).table.has_focus
