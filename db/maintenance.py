"""Maintenance windows: adding, ending and finding them, what they silence, and what their summary reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from db.enums import NotificationStatus
from db.issue_state import OPEN_STATUSES
from db.models import Event, Issue, MaintenanceWindow, Notification, Project

# An error silenced by a window counts as "still firing" at its end when it had events this close to the end.
STILL_FIRING = dt.timedelta(minutes=15)
MAX_WINDOW = dt.timedelta(days=31)


class MaintenanceError(ValueError):
    """A window that cannot be made as asked (ends before it starts, unknown project...)."""


def add_window(
    session: Session,
    *,
    project_id: int | None,
    query: str | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
    created_by: str,
) -> MaintenanceWindow:
    """A new window; the query is checked by the caller (its syntax belongs to the API's search)."""
    check_span(starts_at, ends_at)
    if project_id is not None and session.get(Project, project_id) is None:
        raise MaintenanceError(f"no project with id {project_id}")
    window = MaintenanceWindow(
        project_id=project_id,
        query=query or None,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=created_by,
        silenced_alerts=0,
    )
    session.add(window)
    session.flush()
    return window


def check_span(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise MaintenanceError("a maintenance window must end after it starts")
    # A forgotten month-long silence is an outage nobody hears about; longer work gets a new window.
    if ends_at - starts_at > MAX_WINDOW:
        raise MaintenanceError(f"a maintenance window lasts at most {MAX_WINDOW.days} days")


def end_window(session: Session, window: MaintenanceWindow, now: dt.datetime) -> None:
    """End it now (a future window is cut to nothing: it starts and ends now, so it never silences)."""
    if window.ends_at <= now:
        raise MaintenanceError(f"maintenance window #{window.id} already ended")
    window.starts_at = min(window.starts_at, now)
    window.ends_at = now
    session.flush()


def list_windows(session: Session, now: dt.datetime, *, include_past: bool = False) -> list[MaintenanceWindow]:
    """Active and future windows, soonest first (and past ones, newest first after them, when asked)."""
    upcoming = list(
        session.scalars(
            select(MaintenanceWindow)
            .where(MaintenanceWindow.ends_at > now)
            .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
        )
    )
    if not include_past:
        return upcoming
    past = session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.ends_at <= now)
        .order_by(MaintenanceWindow.ends_at.desc(), MaintenanceWindow.id.desc())
    )
    return upcoming + list(past)


def active_windows(session: Session, project_id: int, now: dt.datetime) -> list[MaintenanceWindow]:
    """The windows covering `project_id` at `now` (its own and those for all projects), oldest first."""
    return list(
        session.scalars(
            select(MaintenanceWindow)
            .where(
                MaintenanceWindow.starts_at <= now,
                MaintenanceWindow.ends_at > now,
                or_(MaintenanceWindow.project_id.is_(None), MaintenanceWindow.project_id == project_id),
            )
            .order_by(MaintenanceWindow.id)
        )
    )


def silence_reason(window: MaintenanceWindow) -> str:
    """What a held-back notification says, e.g. "maintenance window #3: DB migration until 14:00 UTC"."""
    until = window.ends_at.astimezone(dt.UTC).strftime("%H:%M UTC")
    return f"{reason_prefix(window.id)} {window.reason or 'maintenance'} until {until}"


def reason_prefix(window_id: int) -> str:
    return f"maintenance window #{window_id}:"


def count_silenced(session: Session, window_id: int) -> None:
    # One UPDATE adding one, so concurrent alerts never lose a count to a read-modify-write race.
    session.execute(
        update(MaintenanceWindow)
        .where(MaintenanceWindow.id == window_id)
        .values(silenced_alerts=MaintenanceWindow.silenced_alerts + 1)
        .execution_options(synchronize_session=False)
    )


def ended_without_summary(session: Session, now: dt.datetime) -> list[int]:
    """Windows that are over and whose summary has not gone out yet."""
    return list(
        session.scalars(
            select(MaintenanceWindow.id)
            .where(MaintenanceWindow.ends_at <= now, MaintenanceWindow.summary_sent_at.is_(None))
            .order_by(MaintenanceWindow.id)
        )
    )


@dataclass(frozen=True)
class SilencedError:
    issue_id: int
    project_id: int
    title: str
    severity: str
    alerts: int  # alerts held back by the window
    events: int  # events received while it ran
    still_firing: bool


def silenced_errors(session: Session, window: MaintenanceWindow) -> list[SilencedError]:
    """The errors the window held alerts back for, most events first, each saying whether it still fires: open,
    with an event in the last STILL_FIRING of the window or since."""
    # One alert makes a notification per channel, all with the alert's creation time: count alerts, not channels.
    alerts = session.execute(
        select(Notification.issue_id, func.count(func.distinct(Notification.created_at)))
        .where(
            Notification.status == NotificationStatus.SUPPRESSED,
            Notification.issue_id.is_not(None),
            Notification.last_error.startswith(reason_prefix(window.id), autoescape=True),
        )
        .group_by(Notification.issue_id)
    ).all()
    alerts_by_issue = {int(issue_id): int(count) for issue_id, count in alerts if issue_id is not None}
    if not alerts_by_issue:
        return []
    events_by_issue = {
        issue_id: count
        for issue_id, count in session.execute(
            select(Event.issue_id, func.count())
            .where(
                Event.issue_id.in_(alerts_by_issue),
                Event.received_at >= window.starts_at,
                Event.received_at < window.ends_at,
            )
            .group_by(Event.issue_id)
        )
    }
    issues: Sequence[Issue] = session.scalars(select(Issue).where(Issue.id.in_(alerts_by_issue))).all()
    rows = [
        SilencedError(
            issue_id=issue.id,
            project_id=issue.project_id,
            title=issue.title,
            severity=str(issue.severity),
            alerts=alerts_by_issue[issue.id],
            events=int(events_by_issue.get(issue.id, 0)),
            still_firing=issue.status in OPEN_STATUSES and issue.last_seen >= window.ends_at - STILL_FIRING,
        )
        for issue in issues
    ]
    return sorted(rows, key=lambda row: (-row.events, -row.alerts, row.issue_id))


def mark_summarised(session: Session, window_id: int, now: dt.datetime) -> bool:
    """Claim the window's summary: True for the one run that sets summary_sent_at, False for any other."""
    claimed = session.scalar(
        update(MaintenanceWindow)
        .where(MaintenanceWindow.id == window_id, MaintenanceWindow.summary_sent_at.is_(None))
        .values(summary_sent_at=now)
        .returning(MaintenanceWindow.id)
        .execution_options(synchronize_session=False)
    )
    return claimed is not None
