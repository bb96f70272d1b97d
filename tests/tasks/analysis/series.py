"""Synthetic error series for the analysis tests: hourly history straight into the roll-ups, recent events as rows."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from db.models import Event, Issue, IssueDailyCount, IssueHourlyCount, ProjectDailyCount, ProjectHourlyCount
from db.rollups import Counted, count_events, day_of

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

# A Saturday afternoon, UTC: the analysis runs at this time unless a test says otherwise.
NOW = dt.datetime(2026, 11, 21, 14, 30, tzinfo=dt.UTC)
LONG_AGO = NOW - 60 * DAY


def seed_history(
    session: Session, issues: Iterable[Issue], per_hour: Callable[[dt.datetime], int], *, now: dt.datetime = NOW,
    days: int = 7,
) -> None:  # fmt: skip
    """Put `per_hour(hour)` events of each issue, for every hour of the `days` days before `now`'s day, into the
    hourly and daily roll-ups (as ingest would have counted them), without event rows."""
    issue_hours: Counter[tuple[int, dt.datetime]] = Counter()
    project_hours: Counter[tuple[int, dt.datetime, str]] = Counter()
    issue_days: Counter[tuple[int, dt.datetime]] = Counter()
    project_days: Counter[tuple[int, dt.datetime, str]] = Counter()
    start = day_of(now) - days * DAY
    for issue in issues:
        hour = start
        while hour < day_of(now):
            n = per_hour(hour)
            if n:
                issue_hours[(issue.id, hour)] += n
                project_hours[(issue.project_id, hour, str(issue.severity))] += n
                issue_days[(issue.id, day_of(hour))] += n
                project_days[(issue.project_id, day_of(hour), str(issue.severity))] += n
            hour += HOUR
    session.add_all(IssueHourlyCount(issue_id=i, hour=h, events=n) for (i, h), n in issue_hours.items())
    session.add_all(IssueDailyCount(issue_id=i, day=d, events=n) for (i, d), n in issue_days.items())
    session.add_all(
        ProjectHourlyCount(project_id=p, hour=h, severity=s, events=n) for (p, h, s), n in project_hours.items()
    )
    session.add_all(
        ProjectDailyCount(project_id=p, day=d, severity=s, events=n) for (p, d, s), n in project_days.items()
    )
    session.flush()


def add_events(session: Session, issue: Issue, times: Iterable[dt.datetime], **fields: object) -> None:
    """Event rows of `issue` received at `times`, counted into the roll-ups as ingest does."""
    rows = [
        {
            "project_id": issue.project_id,
            "issue_id": issue.id,
            "event_id": uuid.uuid4().hex,
            "timestamp": at,
            "received_at": at,
            "severity": issue.severity,
            "source": "sentry",
            "size_bytes": 0,
            **fields,
        }
        for at in times
    ]
    if not rows:
        return
    session.execute(insert(Event), rows)
    count_events(
        session, [Counted(issue.id, issue.project_id, str(issue.severity), row["received_at"]) for row in rows]
    )
    session.flush()


def spread(n: int, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """`n` times spread evenly over [start, end)."""
    step = (end - start) / n
    return [start + step * i for i in range(n)]


def last_hour(n: int, now: dt.datetime = NOW) -> list[dt.datetime]:
    return spread(n, now - HOUR, now)
