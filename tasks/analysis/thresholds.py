"""The hourly events-per-minute check (the old system's check_error_thresholds): a project whose busiest minute of
the last hour went above its Project.max_events_per_minute is alerted about, unless an alert about its rate (from
ingest, or an earlier check) was already made within the hour."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.event_rates import MINUTE, busiest_issue, project_minutes, rate_event_id, rate_event_prefix
from db.models import Notification, Project

WINDOW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class RateAlert:
    project_id: int
    issue_id: int  # the busiest error of that minute: what the alert shows
    event_id: str  # names the project and minute (db.event_rates.rate_event_id)
    minute: dt.datetime
    events: int
    limit: int


def already_alerted(session: Session, project_id: int, since: dt.datetime) -> bool:
    pattern = f"alert:%:threshold:{rate_event_prefix(project_id)}%"
    return (
        session.scalar(
            select(Notification.id)
            .where(
                Notification.project_id == project_id,
                Notification.trigger == "threshold",
                Notification.created_at >= since,
                Notification.idempotency_key.like(pattern),
            )
            .limit(1)
        )
        is not None
    )


def rate_alerts_due(session: Session, now: dt.datetime) -> list[RateAlert]:
    """The alerts the hourly check makes: at most one per project, for its busiest minute above the limit."""
    since = now - WINDOW
    due = []
    for project_id, limit in session.execute(
        select(Project.id, Project.max_events_per_minute).where(Project.max_events_per_minute.is_not(None))
    ).all():
        minutes = project_minutes(session, project_id, since, now)
        if not minutes:
            continue
        peak, events = max(minutes.items(), key=lambda item: (item[1], -item[0].timestamp()))
        if limit is None or events <= limit or already_alerted(session, project_id, since):
            continue
        issue_id = busiest_issue(session, project_id, peak, peak + MINUTE)
        if issue_id is not None:
            due.append(RateAlert(project_id, issue_id, rate_event_id(project_id, peak), peak, events, limit))
    return due
