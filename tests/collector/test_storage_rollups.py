"""The ingest writer keeps the hourly and daily roll-ups in step with the events it stores, and only those."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from collector.pipeline import PreparedEvent
from collector.storage import store_batch
from db.enums import Severity
from db.models import Event, IssueDailyCount, IssueHourlyCount, ProjectDailyCount, ProjectHourlyCount
from tests.collector.factories import prepared_event
from tests.db.factories import make_project

AT = dt.datetime(2026, 11, 28, 22, 59, 30, tzinfo=dt.UTC)


def _prepared(project_id: int, fingerprint: str, received_at: dt.datetime, severity: str = "high") -> PreparedEvent:
    return prepared_event(
        project_id, received_at, fingerprint=fingerprint, title=f"ValueError: {fingerprint}", severity=severity
    )


def test_stored_events_are_counted_once_per_hour_and_day(db_session):
    project = make_project(db_session)
    later = AT + dt.timedelta(minutes=1)  # the next hour, the same day
    batch = [
        _prepared(project.id, "a", AT),
        _prepared(project.id, "a", AT, severity="critical"),
        _prepared(project.id, "b", later),
    ]
    outcomes = store_batch(db_session, batch, now=later)
    db_session.commit()
    a, b = outcomes[0].issue_id, outcomes[2].issue_id
    # The same events again (an SDK retry) and one of them twice in a batch: stored and counted once.
    store_batch(db_session, [batch[0], batch[2], batch[2]], now=later)
    store_batch(db_session, [_prepared(project.id, "b", later)], now=later)
    db_session.commit()

    hour, next_hour = dt.datetime(2026, 11, 28, 22, tzinfo=dt.UTC), dt.datetime(2026, 11, 28, 23, tzinfo=dt.UTC)
    day = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    assert set(
        db_session.execute(select(IssueHourlyCount.issue_id, IssueHourlyCount.hour, IssueHourlyCount.events))
    ) == {
        (a, hour, 2),
        (b, next_hour, 2),
    }
    assert set(db_session.execute(select(IssueDailyCount.issue_id, IssueDailyCount.events))) == {(a, 2), (b, 2)}
    by_severity = select(ProjectHourlyCount.hour, ProjectHourlyCount.severity, ProjectHourlyCount.events)
    assert set(db_session.execute(by_severity)) == {
        (hour, Severity.HIGH, 1),
        (hour, Severity.CRITICAL, 1),
        (next_hour, Severity.HIGH, 2),
    }
    daily = select(ProjectDailyCount.day, ProjectDailyCount.severity, ProjectDailyCount.events)
    assert set(db_session.execute(daily)) == {(day, Severity.HIGH, 3), (day, Severity.CRITICAL, 1)}
    # The roll-ups hold exactly the events stored.
    assert db_session.scalar(select(func.sum(IssueHourlyCount.events))) == db_session.scalar(
        select(func.count(Event.id))
    )
