"""The queue's maintenance note against a live collector: shown while a window silences alerts, read every half
minute rather than on every refresh, and following the clock between reads."""

from __future__ import annotations

import datetime as dt

import pytest

from db.enums import Role, Severity
from db.types import utcnow
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_issue, make_project
from tests.tui.conftest import console, screen_text, settle
from tui.maintenance import end_text, scope
from tui.models import MaintenanceWindow
from tui.widgets import QueuePane

pytestmark = pytest.mark.anyio


def seed(api: ApiClients) -> int:
    with api.collector.session() as session:
        checkout = make_project(session, "checkout")
        make_issue(session, checkout, severity=Severity.HIGH, title="CardDeclined: do not honour")
        session.commit()
        return checkout.id


def open_window(api: ApiClients, **body: object) -> int:
    with api.as_role(Role.ADMIN) as admin:
        answer = admin.post("/maintenance-windows/", json={"reason": "DB migration", **body})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


def at(when: dt.datetime) -> str:
    return when.isoformat()


def note(text: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("maintenance:")]
    return lines[0] if lines else None


async def test_an_active_window_is_shown_above_the_queue(api: ApiClients) -> None:
    project_id = seed(api)
    now = utcnow().replace(second=0, microsecond=0)
    ends = now + dt.timedelta(hours=1)
    open_window(api, project_id=project_id, starts_at=at(now - dt.timedelta(minutes=5)), ends_at=at(ends))
    # Planned for tomorrow: not silencing anything yet, so not shown.
    open_window(
        api, query="level:low", starts_at=at(now + dt.timedelta(days=1)), ends_at=at(now + dt.timedelta(days=2))
    )
    async with console(api, size=(100, 24), clock=lambda: now) as pilot:
        assert note(screen_text(pilot.app)) == f"maintenance: checkout until {end_text(ends, now)} — alerts silenced"


async def test_the_note_is_read_every_half_minute_and_follows_the_clock(api: ApiClients) -> None:
    seed(api)
    now = utcnow().replace(second=0, microsecond=0)
    clock = [now]
    async with console(api, size=(100, 24), clock=lambda: clock[0]) as pilot:
        pane = pilot.app.screen.query_one(QueuePane)
        assert note(screen_text(pilot.app)) is None
        window_id = open_window(
            api, query="level:critical", starts_at=at(now), ends_at=at(now + dt.timedelta(minutes=30))
        )
        # The queue refreshes; the windows were read moments ago, so they are not asked for again yet.
        pane.reload()
        await settle(pilot)
        assert note(screen_text(pilot.app)) is None
        pane.maintenance.read_at = None  # as if half a minute had passed
        pane.reload()
        await settle(pilot)
        ends = now + dt.timedelta(minutes=30)
        assert note(screen_text(pilot.app)) == (
            f"maintenance: all projects (level:critical) until {end_text(ends, now)} — alerts silenced"
        )
        # Its end passes between two reads: the note goes with the clock, without asking the server.
        read_at = pane.maintenance.read_at
        clock[0] = now + dt.timedelta(minutes=31)
        pane.reload()
        await settle(pilot)
        assert note(screen_text(pilot.app)) is None
        assert pane.maintenance.read_at == read_at
        with api.as_role(Role.VIEWER) as viewer:  # the server's clock has not got there: it still lists it as active
            assert [w["id"] for w in viewer.get("/maintenance-windows/").json() if w["active"]] == [window_id]


def window(**fields: object) -> MaintenanceWindow:
    start = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    values: dict[str, object] = {"id": 1, "starts_at": start, "ends_at": start + dt.timedelta(hours=2)}
    return MaintenanceWindow.model_validate(values | fields)


def test_scope_names_the_project_or_all_and_the_search() -> None:
    assert scope(window(project_id=2, project="checkout")) == "checkout"
    assert scope(window(project_id=2)) == "project 2"
    assert scope(window(query="service:payments")) == "all projects (service:payments)"


def test_the_end_shows_its_date_when_not_today() -> None:
    now = dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)
    assert end_text(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), now) == "23:30 UTC"
    assert end_text(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC), now) == "Mar 02 01:00 UTC"
