"""The event roll-ups: newly stored events counted per hour and day, per issue and per project and severity."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Severity
from db.models import (
    IssueDailyCount,
    IssueHourlyCount,
    ProjectDailyCount,
    ProjectHourlyCount,
    ProjectMinuteCount,
    SeverityHourlyCount,
)
from db.rollups import Counted, count_events
from tests.db.factories import make_issue, make_project


def _rows(session: Session, model: type) -> set[tuple[object, ...]]:
    table = model.__table__  # type: ignore[attr-defined]
    return {tuple(row) for row in session.execute(select(*table.c))}


def test_counts_add_up_per_hour_and_day(db_session):
    project = make_project(db_session)
    a, b = make_issue(db_session, project), make_issue(db_session, project)
    late = dt.datetime(2026, 11, 28, 23, 59, 59, 999_999, tzinfo=dt.UTC)
    paris = dt.timezone(dt.timedelta(hours=1))
    count_events(
        db_session,
        [
            Counted(a.id, project.id, "high", late),
            Counted(a.id, project.id, "low", late - dt.timedelta(minutes=30)),
            # 00:30 in Paris is 23:30 UTC the day before: counted in UTC.
            Counted(b.id, project.id, "high", dt.datetime(2026, 11, 29, 0, 30, tzinfo=paris)),
        ],
    )
    count_events(db_session, [Counted(a.id, project.id, "high", late + dt.timedelta(microseconds=1))])
    db_session.commit()

    hour, next_day = dt.datetime(2026, 11, 28, 23, tzinfo=dt.UTC), dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    day = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    assert _rows(db_session, IssueHourlyCount) == {(a.id, hour, 2), (b.id, hour, 1), (a.id, next_day, 1)}
    assert _rows(db_session, IssueDailyCount) == {(a.id, day, 2), (b.id, day, 1), (a.id, next_day, 1)}
    assert _rows(db_session, ProjectHourlyCount) == {
        (hour, project.id, Severity.HIGH, 2),
        (hour, project.id, Severity.LOW, 1),
        (next_day, project.id, Severity.HIGH, 1),
    }
    assert _rows(db_session, ProjectDailyCount) == {
        (day, project.id, Severity.HIGH, 2),
        (day, project.id, Severity.LOW, 1),
        (next_day, project.id, Severity.HIGH, 1),
    }
    assert _rows(db_session, SeverityHourlyCount) == {
        (hour, Severity.HIGH, 2),
        (hour, Severity.LOW, 1),
        (next_day, Severity.HIGH, 1),
    }
    # Per minute and project, whatever the severity: each event in a minute of its own, the midnight one too.
    minute = dt.datetime(2026, 11, 28, 23, 59, tzinfo=dt.UTC)
    assert _rows(db_session, ProjectMinuteCount) == {
        (minute - dt.timedelta(minutes=30), project.id, 1),
        (dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC), project.id, 1),
        (minute, project.id, 1),
        (next_day, project.id, 1),
    }
    count_events(db_session, [Counted(b.id, project.id, "medium", late - dt.timedelta(seconds=30))])
    assert (minute, project.id, 2) in _rows(db_session, ProjectMinuteCount)  # a's and b's, two severities


def test_nothing_to_count_writes_nothing(db_session):
    count_events(db_session, [])
    assert _rows(db_session, IssueHourlyCount) == set()
