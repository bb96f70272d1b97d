"""The daily stats roll-up per project and severity: counts, and idempotent re-runs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import IssueStatus, Severity
from db.models import DailyStat
from tasks.analysis.daily_stats import roll_up_day
from tests.db.factories import make_issue, make_project
from tests.tasks.analysis.series import DAY, HOUR, NOW, add_events

TODAY = NOW.date()
MIDNIGHT = NOW.replace(hour=0, minute=0)


def stats(session: Session, day: dt.date = TODAY) -> dict[tuple[str, str], tuple[int, ...]]:
    session.expire_all()
    return {
        (row.service or "", str(row.severity)): (
            row.events,
            row.new_issues,
            row.regressed_issues,
            row.resolved_issues,
            row.users_affected,
        )
        for row in session.scalars(select(DailyStat).where(DailyStat.day == day))
    }


def test_a_day_is_rolled_up_per_service_and_severity(db_session: Session) -> None:
    checkout = make_project(db_session, name="checkout")
    search = make_project(db_session, name="search")
    new_critical = make_issue(db_session, checkout, severity=Severity.CRITICAL, first_seen=MIDNIGHT + HOUR)
    add_events(db_session, new_critical, [MIDNIGHT + HOUR, MIDNIGHT + 2 * HOUR], user_key="u1")
    add_events(db_session, new_critical, [MIDNIGHT + 3 * HOUR], user_key="u2")
    old_high = make_issue(db_session, checkout, severity=Severity.HIGH, first_seen=NOW - 9 * DAY)
    add_events(db_session, old_high, [MIDNIGHT + HOUR], user_key="u1")
    add_events(db_session, old_high, [MIDNIGHT - HOUR])  # yesterday's
    make_issue(
        db_session, checkout, severity=Severity.HIGH, first_seen=NOW - 9 * DAY, status=IssueStatus.RESOLVED,
        resolved_at=MIDNIGHT + 5 * HOUR,
    )  # fmt: skip
    regressed = make_issue(
        db_session, search, severity=Severity.MEDIUM, first_seen=NOW - 9 * DAY, is_regression=True,
        last_seen=MIDNIGHT + 4 * HOUR,
    )  # fmt: skip
    add_events(db_session, regressed, [MIDNIGHT + 4 * HOUR])

    assert roll_up_day(db_session, TODAY) == 3
    # (events, new, regressed, resolved, users)
    expected = {
        ("checkout", "critical"): (3, 1, 0, 0, 2),
        ("checkout", "high"): (1, 0, 0, 1, 1),
        ("search", "medium"): (1, 0, 1, 0, 0),
    }
    assert stats(db_session) == expected
    assert stats(db_session, TODAY - dt.timedelta(days=1)) == {}

    # Run again: the same rows, not duplicates. More events: the rows follow.
    assert roll_up_day(db_session, TODAY) == 3
    assert stats(db_session) == expected
    add_events(db_session, old_high, [MIDNIGHT + 6 * HOUR], user_key="u3")
    roll_up_day(db_session, TODAY)
    assert stats(db_session)[("checkout", "high")] == (2, 0, 0, 1, 2)
    assert len(stats(db_session)) == 3


def test_yesterday_is_its_own_day(db_session: Session) -> None:
    project = make_project(db_session, name="api")
    issue = make_issue(db_session, project, severity=Severity.LOW, first_seen=MIDNIGHT - 2 * HOUR)
    add_events(db_session, issue, [MIDNIGHT - 2 * HOUR, MIDNIGHT - HOUR, MIDNIGHT + HOUR])
    yesterday = TODAY - dt.timedelta(days=1)
    roll_up_day(db_session, yesterday)
    assert stats(db_session, yesterday) == {("api", "low"): (2, 1, 0, 0, 0)}
    assert stats(db_session) == {}
