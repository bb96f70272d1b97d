"""Events per minute, for the project rate limit (checked on ingest and hourly) and the correlation of errors, and
an issue's events in a recent window, for its alert threshold.

Ingest reads a project's minute from its roll-up (project_minute_counts); the rest is counted from the events
themselves over short windows, which the indexes on events.received_at and (issue_id, received_at) keep to a range
scan."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Integer, String, bindparam, func, select, text
from sqlalchemy.orm import Session

from db.models import Event, ProjectMinuteCount
from db.rollups import minute_of
from db.types import UTCDateTime

MINUTE_FORMAT = "%Y-%m-%d %H:%M"
MINUTE = dt.timedelta(minutes=1)


def _minute_label(session: Session) -> ColumnElement[str]:
    """received_at cut to its UTC minute as 'YYYY-MM-DD HH:MM', the same text on both backends."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Event.received_at), "YYYY-MM-DD HH24:MI")
    # SQLite keeps naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff': the minute is its first 16 characters.
    return func.substr(func.cast(Event.received_at, String), 1, 16)


def _parse(label: str) -> dt.datetime:
    return dt.datetime.strptime(label, MINUTE_FORMAT).replace(tzinfo=dt.UTC)


def events_in_minute(session: Session, project_ids: Iterable[int], minute: dt.datetime) -> dict[int, int]:
    """Events each project received in the UTC minute starting at `minute`, as the writer counted them (projects
    without any are left out): one row each, however many events the minute holds."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(ProjectMinuteCount.project_id, ProjectMinuteCount.events).where(
            ProjectMinuteCount.minute == minute, ProjectMinuteCount.project_id.in_(ids)
        )
    ).all()
    return {project_id: events for project_id, events in rows}


def issue_window_events(
    session: Session, issue_ids: Iterable[int], since: dt.datetime, cap: int
) -> dict[int, tuple[str, int]]:
    """For each issue id: its status, and its events received since `since`, counted up to `cap`. One statement of
    fixed text (built once: assembling a query object per batch cost the collector more than PostgreSQL's count),
    each count one short read of the issue's (issue_id, received_at) index."""
    ids = sorted(set(issue_ids))
    if not ids:
        return {}
    rows = session.execute(_WINDOW_EVENTS, {"ids": ids, "since": since, "cap": cap}).all()
    return {issue_id: (status, count) for issue_id, status, count in rows}


_WINDOW_EVENTS = text(
    "SELECT issues.id, issues.status, (SELECT count(*) FROM (SELECT 1 FROM events WHERE events.issue_id = issues.id "
    "AND events.received_at >= :since LIMIT :cap) AS recent) FROM issues WHERE issues.id IN :ids"
).bindparams(
    bindparam("ids", expanding=True), bindparam("since", type_=UTCDateTime()), bindparam("cap", type_=Integer())
)


def project_minutes(session: Session, project_id: int, since: dt.datetime, until: dt.datetime) -> Counter[dt.datetime]:
    """The project's events per UTC minute in [since, until)."""
    label = _minute_label(session)
    rows = session.execute(
        select(label, func.count())
        .where(Event.project_id == project_id, Event.received_at >= since, Event.received_at < until)
        .group_by(label)
    ).all()
    return Counter({_parse(minute): count for minute, count in rows})


def busiest_issue(session: Session, project_id: int, since: dt.datetime, until: dt.datetime) -> int | None:
    """The project's issue with the most events in [since, until) (the lowest id on a tie)."""
    count = func.count()
    return session.scalar(
        select(Event.issue_id)
        .where(Event.project_id == project_id, Event.received_at >= since, Event.received_at < until)
        .group_by(Event.issue_id)
        .order_by(count.desc(), Event.issue_id)
        .limit(1)
    )


def issue_minutes(
    session: Session, since: dt.datetime, until: dt.datetime
) -> tuple[dict[int, int], dict[int, Counter[dt.datetime]]]:
    """For every issue with events in [since, until): its project, and its events per UTC minute."""
    label = _minute_label(session)
    rows = session.execute(
        select(Event.issue_id, Event.project_id, label, func.count())
        .where(Event.received_at >= since, Event.received_at < until)
        .group_by(Event.issue_id, Event.project_id, label)
    ).all()
    project_of: dict[int, int] = {}
    minutes: defaultdict[int, Counter[dt.datetime]] = defaultdict(Counter)
    for issue_id, project_id, minute, count in rows:
        project_of[issue_id] = project_id
        minutes[issue_id][_parse(minute)] += count
    return project_of, dict(minutes)


def rate_event_id(project_id: int, minute: dt.datetime) -> str:
    """What a project's events-per-minute alert names as its cause, in place of an event id: the project and the
    minute, so the alert for one minute is made once (on ingest and by the hourly check alike)."""
    return f"rate-{project_id}-{minute_of(minute):%Y%m%d%H%M}"


def rate_event_prefix(project_id: int) -> str:
    return f"rate-{project_id}-"
