"""The detail pane against a live collector: what broke and where, source around in-app frames, tags, the timeline,
stepping through events, and actions from the detail pane."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from textual.widgets import Collapsible

from db.enums import Role, Severity
from db.types import utcnow
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_developer, make_event, make_issue, make_project
from tests.tui.conftest import console, screen_text, settle, toasts, wait_until
from tui.widgets import DetailPane, QueuePane

pytestmark = pytest.mark.anyio


def payload(message: str, line: str) -> dict[str, Any]:
    return {
        "exception": {
            "values": [
                {
                    "type": "ZeroDivisionError",
                    "value": message,
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "shop/app.py",
                                "function": "main",
                                "lineno": 5,
                                "in_app": True,
                                "context_line": "    checkout(cart)",
                            },
                            {
                                "filename": "site-packages/flask/app.py",
                                "function": "dispatch",
                                "lineno": 900,
                                "in_app": False,
                            },
                            {
                                "filename": "shop/pricing.py",
                                "function": "ratio",
                                "lineno": 48,
                                "in_app": True,
                                "pre_context": ["def ratio(a, b):"],
                                "context_line": line,
                                "post_context": [""],
                            },
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {"values": [{"timestamp": 0, "category": "http", "message": "GET /cart"}]},
        "request": {"method": "GET", "url": "https://shop.example.com/cart"},
        "user": {"id": "u-7"},
        "tags": {"browser": "Firefox"},
    }


def seed(api: ApiClients) -> int:
    with api.collector.session() as session:
        issue = make_issue(
            session,
            make_project(session, "shop"),
            severity=Severity.CRITICAL,
            title="ZeroDivisionError: division by zero",
            culprit="shop.pricing in ratio",
            times_seen=2,
        )
        earlier = utcnow() - dt.timedelta(minutes=10)
        make_event(
            session,
            issue,
            received_at=earlier,
            payload=payload("older event", "    return a / b"),
            tags={"browser": "Chrome"},
        )
        make_event(session, issue, payload=payload("newest event", "    return a // b"), tags={"browser": "Firefox"})
        session.commit()
        return issue.id


async def test_enter_opens_the_error_with_its_stack_trace(api: ApiClients) -> None:
    error_id = seed(api)
    async with console(api, size=(100, 50)) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "[2 Detail]" in text
        assert f"#{error_id} ZeroDivisionError: division by zero" in text
        assert "shop.pricing in ratio" in text
        assert "ZeroDivisionError: newest event" in text
        # Most recent call first; the top in-app frame is open with its source, the line marked.
        assert text.index("shop/pricing.py:48 in ratio") < text.index("shop/app.py:5 in main")
        assert "→ 48 │     return a // b" in text
        assert "47 │ def ratio(a, b):" in text
        assert "checkout(cart)" not in text  # the older in-app frame is folded
        frames = list(pilot.app.screen.query("#detail-frames Collapsible").results(Collapsible))
        assert [f.collapsed for f in frames] == [False, True, True]
        assert "app" in text.split("shop/pricing.py:48 in ratio", 1)[1].splitlines()[0]  # in-app, said in words
        # Tags with their distribution, and the timeline, are open.
        assert "browser" in text and "Firefox 50%" in text and "Chrome 50%" in text
        assert "first_seen" in text
        # x unfolds every frame.
        await pilot.press("x")
        await settle(pilot)
        assert "checkout(cart)" in screen_text(pilot.app)
        # esc goes back to the queue.
        await pilot.press("escape")
        assert "[1 Queue (1)]" in screen_text(pilot.app)


async def test_step_through_events(api: ApiClients) -> None:
    seed(api)
    async with console(api, size=(100, 40)) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        assert "event 1 of 2" in screen_text(pilot.app)
        await pilot.press("n")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "event 2 of 2" in text and "ZeroDivisionError: older event" in text
        assert "return a / b" in text
        await pilot.press("n")
        assert "No older event" in toasts(pilot.app)
        await pilot.press("p")
        await settle(pilot)
        assert "ZeroDivisionError: newest event" in screen_text(pilot.app)


async def test_actions_from_the_detail_pane_show_in_its_timeline(api: ApiClients) -> None:
    error_id = seed(api)
    async with console(api, size=(100, 50)) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("K")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "acknowledged by responder-token" in text  # the header
        assert "acknowledge by responder-token" in text.split("Timeline", 1)[1]  # the timeline
        with api.as_role(Role.VIEWER) as viewer:
            assert viewer.get(f"/errors/{error_id}/").json()["status"] == "acknowledged"
        # The queue behind it shows the change too.
        queue = pilot.app.screen.query_one(QueuePane)
        assert queue.errors[error_id].status == "acknowledged"
        assert pilot.app.screen.query_one(DetailPane).error_id == error_id


async def test_the_keys_act_on_the_opened_error_before_its_detail_has_loaded(api: ApiClients, monkeypatch) -> None:
    error_id = seed(api)
    loaded = asyncio.Event()
    fetch = DetailPane.fetch

    async def slow_fetch(self: DetailPane, client: Any) -> Any:
        await loaded.wait()  # as over a slow link: the header (from the queue) shows, the rest has not come
        return await fetch(self, client)

    monkeypatch.setattr(DetailPane, "fetch", slow_fetch)
    async with console(api, size=(100, 50)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        pane = pilot.app.screen.query_one(DetailPane)
        assert pane.error_id == error_id and pane.detail is None
        await pilot.press("K")

        def acknowledged() -> bool:
            with api.as_role(Role.VIEWER) as viewer:
                return bool(viewer.get(f"/errors/{error_id}/").json()["status"] == "acknowledged")

        await wait_until(pilot, acknowledged, "the acknowledgement")
        assert "No error here to act on" not in toasts(pilot.app)
        loaded.set()
        await settle(pilot)


async def test_detail_with_nothing_open(api: ApiClients) -> None:
    async with console(api) as pilot:
        await pilot.press("2")
        assert "No error open" in screen_text(pilot.app)
        await pilot.press("r")
        assert "No error here to act on" in toasts(pilot.app)


async def test_the_header_shows_the_escalation_level_and_the_next_step(api: ApiClients) -> None:
    first_seen = utcnow().replace(microsecond=0) - dt.timedelta(minutes=3)
    with api.collector.session() as session:
        project = make_project(session, "shop")
        developer = make_developer(session, "Cat Rossi", ntfy_topic="cat-pager")
        escalated = make_issue(session, project, severity=Severity.CRITICAL, first_seen=first_seen, title="escalated")
        escalated.escalation_level = 1  # paged at level 1; the chain goes to 2
        session.commit()
        project_id, developer_id, error_id = project.id, developer.id, escalated.id
    chain = {"steps": [{"severity": "critical", "after_minutes": 15, "target_developer_id": developer_id}]}
    with api.as_role(Role.ADMIN) as admin:
        assert admin.put(f"/projects/{project_id}/escalation-chain/", json=chain).status_code == 200
    # The console's clock 3 minutes after the first sighting (no page yet, so the step counts from it): the
    # 15-minute step is 12 minutes away.
    async with console(api, size=(100, 40), clock=lambda: first_seen + dt.timedelta(minutes=3)) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "escalation: level 1 · next: level 2 in 12 min if still unacknowledged" in text
        assert "unacknowledged for 15 min (step 1 of chain 'default')" in text
        # Acknowledged, the unacknowledged step no longer applies: the level stays, the next step goes.
        await pilot.press("K")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "escalation: level 1" in text and "next:" not in text
        with api.as_role(Role.VIEWER) as viewer:
            assert viewer.get(f"/errors/{error_id}/").json()["next_escalation"] is None


async def test_no_escalation_line_without_a_chain_or_a_level(api: ApiClients) -> None:
    seed(api)
    async with console(api, size=(100, 40)) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        assert "escalation:" not in screen_text(pilot.app)
