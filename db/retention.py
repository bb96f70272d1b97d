"""Retention: deleting what is older than it is worth keeping, a small batch per transaction.

Events older than the retention period go; their errors keep every count (times seen, users, first and last seen)
and the daily roll-ups stay, so long-range stats outlive the raw events. Hourly roll-ups go after
HOURLY_ROLLUP_DAYS (longer than the 30-day window of the stats, which is read from the daily ones), the per-minute
counts of projects after MINUTE_ROLLUP_DAYS (ingest reads only the current minute's), and finished
notifications (sent, dead, suppressed) with their attempts after the retention period. Each batch is committed
before the next, so no transaction holds locks for long while the collector keeps writing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.enums import NotificationStatus
from db.models import Event, IssueHourlyCount, Notification, NotificationAttempt, ProjectHourlyCount, ProjectMinuteCount

BATCH_SIZE = 5_000
HOURLY_ROLLUP_DAYS = 35
MINUTE_ROLLUP_DAYS = 2
FINISHED = (NotificationStatus.SENT, NotificationStatus.DEAD, NotificationStatus.SUPPRESSED)


@dataclass(frozen=True)
class PruneReport:
    """Rows deleted (or, for a dry run, that would be) per kind, and the cut-off times used."""

    events: int
    hourly_rollups: int
    minute_rollups: int
    notifications: int
    events_before: dt.datetime
    rollups_before: dt.datetime
    dry_run: bool = False


def prune(
    session: Session, now: dt.datetime, retention_days: int, *, batch_size: int = BATCH_SIZE, dry_run: bool = False
) -> PruneReport:
    """Delete everything past its retention, committing after each batch (a dry run only counts)."""
    events_before = now - dt.timedelta(days=retention_days)
    rollups_before = now - dt.timedelta(days=HOURLY_ROLLUP_DAYS)
    minutes_before = now - dt.timedelta(days=MINUTE_ROLLUP_DAYS)
    if dry_run:
        return PruneReport(
            events=_count(session, select(func.count()).select_from(Event).where(Event.received_at < events_before)),
            hourly_rollups=sum(
                _count(session, select(func.count()).select_from(table).where(table.hour < rollups_before))
                for table in (IssueHourlyCount, ProjectHourlyCount)
            ),
            minute_rollups=_count(
                session,
                select(func.count()).select_from(ProjectMinuteCount).where(ProjectMinuteCount.minute < minutes_before),
            ),
            notifications=_count(
                session, select(func.count()).select_from(Notification).where(*_old_notification(events_before))
            ),
            events_before=events_before,
            rollups_before=rollups_before,
            dry_run=True,
        )
    return PruneReport(
        events=prune_events(session, events_before, batch_size),
        hourly_rollups=prune_hourly_rollups(session, rollups_before),
        minute_rollups=prune_minute_rollups(session, minutes_before),
        notifications=prune_notifications(session, events_before, batch_size),
        events_before=events_before,
        rollups_before=rollups_before,
    )


def _count(session: Session, statement: Any) -> int:
    return int(session.scalar(statement) or 0)


def prune_events(session: Session, before: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete events received before `before`, oldest first, `batch_size` ids per committed transaction."""
    deleted = 0
    while True:
        ids = list(
            session.scalars(
                select(Event.id).where(Event.received_at < before).order_by(Event.received_at).limit(batch_size)
            )
        )
        if not ids:
            return deleted
        session.execute(delete(Event).where(Event.id.in_(ids)).execution_options(synchronize_session=False))
        session.commit()
        deleted += len(ids)


def prune_hourly_rollups(session: Session, before: dt.datetime) -> int:
    """Delete hourly counts older than `before`, a day of hours per committed transaction (a few rows per issue
    and project that had events then)."""
    deleted = 0
    for table in (IssueHourlyCount, ProjectHourlyCount):
        while True:
            oldest = session.scalar(select(func.min(table.hour)).where(table.hour < before))
            if oldest is None:
                break
            until = min(oldest + dt.timedelta(days=1), before)
            result: Any = session.execute(
                delete(table).where(table.hour < until).execution_options(synchronize_session=False)
            )
            session.commit()
            deleted += int(result.rowcount or 0)
    return deleted


def prune_minute_rollups(session: Session, before: dt.datetime) -> int:
    """Delete the projects' per-minute counts older than `before`: 1,440 rows a day per project with events, in one
    transaction."""
    result: Any = session.execute(
        delete(ProjectMinuteCount)
        .where(ProjectMinuteCount.minute < before)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount or 0)


def _old_notification(before: dt.datetime) -> tuple[Any, Any]:
    return Notification.created_at < before, Notification.status.in_(FINISHED)


def prune_notifications(session: Session, before: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete finished notifications created before `before` with their attempts; pending and failed ones stay
    whatever their age, as they still have work to do."""
    deleted = 0
    while True:
        ids = list(
            session.scalars(
                select(Notification.id).where(*_old_notification(before)).order_by(Notification.id).limit(batch_size)
            )
        )
        if not ids:
            return deleted
        session.execute(
            delete(NotificationAttempt)
            .where(NotificationAttempt.notification_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(Notification).where(Notification.id.in_(ids)).execution_options(synchronize_session=False)
        )
        session.commit()
        deleted += len(ids)
