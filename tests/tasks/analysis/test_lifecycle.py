"""Recurring errors, regressions and errors new in the latest release, on the test database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import IssueStatus, IssueSubstatus, PatternKind
from db.models import Pattern
from tasks.analysis.lifecycle import newest_releases
from tasks.analysis.params import AnalysisParams
from tasks.analysis.run import detect_patterns
from tests.db.factories import make_issue, make_project
from tests.tasks.analysis.series import DAY, HOUR, LONG_AGO, NOW, add_events

PARAMS = AnalysisParams(recurring_days=3, recurring_window_days=7)


def active(session: Session, kind: PatternKind, now: dt.datetime = NOW) -> dict[int | None, Pattern]:
    detect_patterns(session, now, PARAMS)
    rows = session.scalars(select(Pattern).where(Pattern.kind == kind, Pattern.is_active.is_(True)))
    return {pattern.issue_id: pattern for pattern in rows}


def on_days(*days_ago: int) -> list[dt.datetime]:
    return [NOW - d * DAY - HOUR for d in days_ago]


def test_recurring_is_seen_on_n_of_the_last_days(db_session: Session) -> None:
    project = make_project(db_session, name="billing")
    recurring = make_issue(db_session, project, title="KeyError: 'plan'", first_seen=LONG_AGO)
    twice = make_issue(db_session, project, first_seen=LONG_AGO)
    long_ago = make_issue(db_session, project, first_seen=LONG_AGO)
    closed = make_issue(db_session, project, first_seen=LONG_AGO, status=IssueStatus.RESOLVED)
    add_events(db_session, recurring, on_days(0, 2, 2, 6))
    add_events(db_session, twice, on_days(1, 3, 3, 3))
    add_events(db_session, long_ago, on_days(8, 9, 10, 11))
    add_events(db_session, closed, on_days(0, 1, 2, 3))

    found = active(db_session, PatternKind.RECURRING)
    assert list(found) == [recurring.id]
    assert found[recurring.id].description == "billing: 'KeyError: 'plan'' happened on 3 of the last 7 days (4 events)"
    assert found[recurring.id].details == {"days_seen": 3, "window_days": 7, "events": 4}

    # The setting counts: two days are enough when asked.
    detect_patterns(db_session, NOW, AnalysisParams(recurring_days=2))
    rows = db_session.scalars(select(Pattern.issue_id).where(Pattern.kind == "recurring", Pattern.is_active.is_(True)))
    assert sorted(rows) == sorted([recurring.id, twice.id])


def test_a_regression_is_reported_while_the_reopened_error_keeps_happening(db_session: Session) -> None:
    project = make_project(db_session, name="shop")
    back = make_issue(
        db_session, project, title="TypeError: cart is None", substatus=IssueSubstatus.REGRESSED, is_regression=True,
        last_release="shop@2.1.0", last_seen=NOW - HOUR,
    )  # fmt: skip
    add_events(db_session, back, [NOW - 3 * HOUR, NOW - HOUR])
    quiet = make_issue(
        db_session, project, substatus=IssueSubstatus.REGRESSED, is_regression=True, last_seen=NOW - 2 * DAY
    )
    ongoing = make_issue(db_session, project, substatus=IssueSubstatus.ONGOING, last_seen=NOW - HOUR)

    found = active(db_session, PatternKind.REGRESSION)
    assert list(found) == [back.id]
    assert found[back.id].description == (
        "shop: 'TypeError: cart is None' came back in shop@2.1.0 after it was resolved (2 events in the last 24 hours)"
    )
    assert quiet.id not in found and ongoing.id not in found

    # Resolved again: the pattern is over.
    back.status, back.substatus = IssueStatus.RESOLVED, None
    db_session.flush()
    assert active(db_session, PatternKind.REGRESSION) == {}


def test_errors_new_in_the_latest_release(db_session: Session) -> None:
    shop = make_project(db_session, name="shop")
    old = make_issue(db_session, shop, first_release="shop@1.9.0", last_release="shop@1.10.0")
    new = make_issue(db_session, shop, title="ValueError: bad coupon", first_release="shop@1.10.0", times_seen=7,
                     users_affected=2)  # fmt: skip
    # A project that only ever had one release: every error would be new in it, so none is reported.
    single = make_project(db_session, name="auth")
    make_issue(db_session, single, first_release="auth@1.0.0", last_release="auth@1.0.0")

    assert newest_releases(db_session) == {shop.id: "shop@1.10.0"}  # 1.10 is newer than 1.9, not older
    found = active(db_session, PatternKind.NEW_IN_RELEASE)
    assert list(found) == [new.id]
    assert found[new.id].description == (
        "shop: 'ValueError: bad coupon' is new in shop@1.10.0, the latest release (7 events, 2 users)"
    )
    assert old.id not in found

    # A newer release ships: the error is no longer new in the latest one.
    make_issue(db_session, shop, first_release="shop@1.11.0", last_release="shop@1.11.0")
    found = active(db_session, PatternKind.NEW_IN_RELEASE)
    assert new.id not in found
    db_session.expire_all()
    assert db_session.scalar(select(Pattern.is_active).where(Pattern.issue_id == new.id)) is False
