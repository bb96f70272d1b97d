"""The queue pane against a live collector: order, title count, live refresh that keeps the cursor, selection and
scroll position, search with history and saved filters, paging."""

from __future__ import annotations

import datetime as dt

import pytest

from db.enums import IssueStatus, Role, Severity
from db.types import utcnow
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_developer, make_issue, make_project
from tests.tui.conftest import console, cursor_error, queue_ids, screen_text, settle, toasts, wait_until
from tui.widgets import FilterBar, QueuePane

pytestmark = pytest.mark.anyio


def seed(api: ApiClients) -> dict[str, int]:
    """Open errors of every severity at different times, plus ones the queue must not show."""
    now = utcnow()
    with api.collector.session() as session:
        shop = make_project(session, "shop")
        ana = make_developer(session, "Ana Lima", email="ana@example.com")
        rows = {
            "old-critical": make_issue(
                session, shop, severity=Severity.CRITICAL, last_seen=now - dt.timedelta(hours=3)
            ),
            "new-critical": make_issue(
                session, shop, severity=Severity.CRITICAL, last_seen=now - dt.timedelta(minutes=2)
            ),
            "high": make_issue(session, shop, severity=Severity.HIGH, last_seen=now - dt.timedelta(minutes=1)),
            "low": make_issue(session, shop, severity=Severity.LOW, last_seen=now),
            "acked": make_issue(
                session,
                shop,
                severity=Severity.HIGH,
                status=IssueStatus.ACKNOWLEDGED,
                acknowledged_at=now,
                acknowledged_by="Ana Lima",
                assignee_id=ana.id,
                last_seen=now - dt.timedelta(hours=1),
            ),
            "resolved": make_issue(session, shop, severity=Severity.CRITICAL, status=IssueStatus.RESOLVED),
            "ignored": make_issue(session, shop, severity=Severity.CRITICAL, status=IssueStatus.IGNORED),
        }
        for key, issue in rows.items():
            issue.title = f"{key} failure"
        session.commit()
        return {key: issue.id for key, issue in rows.items()}


async def test_open_errors_by_severity_then_recency(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api, size=(120, 30)) as pilot:
        assert queue_ids(pilot.app) == [ids[k] for k in ("new-critical", "old-critical", "high", "acked", "low")]
        text = screen_text(pilot.app)
        assert "errlog: 4 unacknowledged" in text  # acknowledged errors are open but not counted
        assert "1 Queue (4)" in text
        assert "resolved failure" not in text and "ignored failure" not in text
        acked_line = next(line for line in text.splitlines() if "acked failure" in line)
        assert " Ana " in acked_line and "✓" in acked_line  # a narrow assignee column shows first names


async def test_live_refresh_keeps_cursor_selection_and_scroll(api: ApiClients) -> None:
    ids = seed(api)
    with api.collector.session() as session:
        shop = make_project(session, "many")
        for n in range(40):
            make_issue(
                session,
                shop,
                severity=Severity.MEDIUM,
                title=f"medium {n}",
                last_seen=utcnow() - dt.timedelta(days=1, minutes=n),
            )
        session.commit()
    async with console(api, refresh_seconds=0.2) as pilot:
        pane = pilot.app.screen.query_one(QueuePane)
        await pilot.press("down", "space")  # select the second row (the cursor moves on to the third)
        await pilot.press("pagedown", "j", "j", "j")  # far enough down that the table has scrolled
        await settle(pilot)
        chosen = cursor_error(pilot.app)
        selected = set(pane.selected)
        assert chosen is not None and len(selected) == 1
        scroll_before = pane.table.scroll_y
        row_on_screen = pane.table.cursor_row - scroll_before
        assert scroll_before > 0
        # A new critical error arrives: it sorts first, above everything on screen.
        with api.collector.session() as session:
            fresh = make_issue(session, make_project(session, "fresh"), severity=Severity.CRITICAL, title="brand new")
            session.commit()
            fresh_id = fresh.id
        await wait_until(pilot, lambda: fresh_id in queue_ids(pilot.app), "the new error to appear without a key press")
        await settle(pilot)
        assert queue_ids(pilot.app)[0] == fresh_id
        assert cursor_error(pilot.app) == chosen
        assert pane.selected == selected
        assert pane.table.cursor_row - pane.table.scroll_y == row_on_screen  # the row did not move on screen
        # Resolved from another console: it leaves the queue on the next refresh, the cursor stays put.
        with api.as_role(Role.RESPONDER) as other:
            other.post(f"/errors/{ids['high']}/resolve/").raise_for_status()
        await wait_until(pilot, lambda: ids["high"] not in queue_ids(pilot.app), "the resolved error to leave")
        assert cursor_error(pilot.app) == chosen


async def test_search_history_and_saved_filters(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("slash")
        await pilot.press(*"level:critical")
        await pilot.press("enter")
        await settle(pilot)
        assert queue_ids(pilot.app) == [ids["new-critical"], ids["old-critical"]]
        assert "search: level:critical" in screen_text(pilot.app)
        # The bar remembers: up brings the last search back.
        await pilot.press("slash")
        bar = pilot.app.screen.query_one(FilterBar)
        bar.value = ""
        await pilot.press("up")
        assert bar.value == "level:critical"
        await pilot.press("escape")
        # Saved filter: unassigned.
        await pilot.press("f")
        await settle(pilot)
        assert "unassigned: is:unassigned" in screen_text(pilot.app)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert ids["acked"] not in queue_ids(pilot.app) and ids["high"] in queue_ids(pilot.app)
        # A search naming a state replaces the queue's own: resolved errors can be found to reopen them.
        await pilot.press("slash")
        pilot.app.screen.query_one(FilterBar).value = "is:resolved"
        await pilot.press("enter")
        await settle(pilot)
        assert queue_ids(pilot.app) == [ids["resolved"]]
        # esc clears the search.
        await pilot.press("escape")
        await settle(pilot)
        assert len(queue_ids(pilot.app)) == 5


async def test_a_bad_search_is_explained_not_fatal(api: ApiClients) -> None:
    seed(api)
    async with console(api) as pilot:
        before = queue_ids(pilot.app)
        await pilot.press("slash")
        pilot.app.screen.query_one(FilterBar).value = "colour:blue"
        await pilot.press("enter")
        await settle(pilot)
        assert "unknown key 'colour'" in toasts(pilot.app)  # the server's 400, as a notification
        assert queue_ids(pilot.app) == before  # the last good rows stay


async def test_pages_load_as_the_cursor_nears_the_end(api: ApiClients) -> None:
    with api.collector.session() as session:
        project = make_project(session, "big")
        for n in range(230):
            make_issue(
                session,
                project,
                severity=Severity.HIGH,
                title=f"error {n}",
                last_seen=utcnow() - dt.timedelta(minutes=n),
            )
        session.commit()
    async with console(api) as pilot:
        assert len(queue_ids(pilot.app)) == 100  # one page, never everything
        assert "more below" in screen_text(pilot.app)
        await pilot.press("end")
        await settle(pilot)
        assert len(queue_ids(pilot.app)) == 200
        await pilot.press("end")
        await settle(pilot)
        assert len(queue_ids(pilot.app)) == 230
        assert len(set(queue_ids(pilot.app))) == 230
        assert "more below" not in screen_text(pilot.app)


async def test_sort_cycles(api: ApiClients) -> None:
    ids = seed(api)
    async with console(api) as pilot:
        await pilot.press("s")
        await settle(pilot)
        assert "sort: last seen" in screen_text(pilot.app)
        assert queue_ids(pilot.app)[0] == ids["low"]  # the most recent
