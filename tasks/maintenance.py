"""The end of a maintenance window: one summary of what it silenced and what still fires, by e-mail to the on-call
(else fallback) developer of each project concerned and to the team's Slack channel."""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel
from db.maintenance import SilencedError, ended_without_summary, mark_summarised, silenced_errors
from db.models import Developer, MaintenanceWindow, Project
from db.oncall import OncallError, on_call_for_project
from db.types import utcnow
from errlog.settings import Settings
from tasks.alerts import insert_new
from tasks.channels import configured_channels
from tasks.deliver import deliver_notification
from tasks.notices import Notice, Section, notice_row, pending_ids
from tasks.queue import huey, runtime

log = logging.getLogger(__name__)
KIND = "maintenance_summary"
TOP = 10


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("maintenance-summaries", ttl=300)
def send_maintenance_summaries() -> None:
    """Every minute: record the summary of each window that ended since, then deliver it."""
    with runtime.session() as session:
        due = summarise_ended_windows(session, runtime.settings, utcnow())
    for notification_id in due:
        deliver_notification(notification_id)


def summarise_ended_windows(session: Session, settings: Settings, now: dt.datetime) -> list[int]:
    """Record one summary per ended window (claimed through summary_sent_at, in the same transaction as its
    notifications, so a second run finds nothing to do); the ids of the notifications to send."""
    due: list[int] = []
    for window_id in ended_without_summary(session, now):
        if not mark_summarised(session, window_id, now):
            continue  # another worker got there first
        window = session.get(MaintenanceWindow, window_id)
        assert window is not None
        if window.ends_at <= window.starts_at:
            continue  # ended before it began (a planned window called off): nothing to report
        due += record_summary(session, settings, window, now)
    return due


def record_summary(session: Session, settings: Settings, window: MaintenanceWindow, now: dt.datetime) -> list[int]:
    errors = silenced_errors(session, window)
    notice = summary_message(session, window, errors)
    configured = configured_channels(settings)
    rows = []
    key = f"maintenance:{window.id}:"
    if Channel.EMAIL in configured:
        for developer in responders(session, window, errors, now):
            rows.append(
                notice_row(
                    key=f"{key}email:{developer.id}",
                    channel=Channel.EMAIL,
                    target=developer.email,
                    notice=notice,
                    max_attempts=settings.notification_max_attempts,
                    now=now,
                    project_id=window.project_id,
                    developer_id=developer.id,
                )
            )
    if Channel.SLACK in configured:
        rows.append(
            notice_row(
                key=f"{key}slack",
                channel=Channel.SLACK,
                target="channel",
                notice=notice,
                max_attempts=settings.notification_max_attempts,
                now=now,
                project_id=window.project_id,
            )
        )
    if not rows:
        log.info("maintenance window #%s ended: no e-mail recipient and no Slack for its summary", window.id)
        return []
    insert_new(session, rows)
    return pending_ids(session, [row["idempotency_key"] for row in rows])


def responders(
    session: Session, window: MaintenanceWindow, errors: list[SilencedError], now: dt.datetime
) -> list[Developer]:
    """The level-1 on-call (else fallback) developer of the window's project, or of each project it silenced
    something in when it covered all projects; each once, active and with an e-mail address."""
    project_ids = [window.project_id] if window.project_id is not None else sorted({e.project_id for e in errors})
    found: dict[int, Developer] = {}
    for project_id in project_ids:
        developer = responder(session, project_id, now)
        if developer is not None and developer.is_active and developer.email:
            found.setdefault(developer.id, developer)
    return list(found.values())


def responder(session: Session, project_id: int, now: dt.datetime) -> Developer | None:
    try:
        shift = on_call_for_project(session, project_id, now, level=1)
    except OncallError as exc:
        log.warning("on-call lookup for project %s failed: %s", project_id, exc)
        shift = None
    if shift is not None:
        return session.get(Developer, shift.developer_id)
    project = session.get(Project, project_id)
    if project is not None and project.fallback_developer_id is not None:
        return session.get(Developer, project.fallback_developer_id)
    return None


def summary_message(session: Session, window: MaintenanceWindow, errors: list[SilencedError]) -> Notice:
    scope = "all projects"
    if window.project_id is not None:
        scope = session.scalar(select(Project.name).where(Project.id == window.project_id)) or f"#{window.project_id}"
    if window.query:
        scope += f" matching {window.query}"
    span = f"{_when(window.starts_at)} to {_when(window.ends_at)}"
    firing = [e for e in errors if e.still_firing]
    intro = [
        f"Maintenance window #{window.id} ({window.reason or 'maintenance'}) on {scope} is over: {span}.",
        f"It held back {window.silenced_alerts} alert(s) for {len(errors)} error(s); "
        f"{len(firing)} of them still fire (events in its last minutes or since).",
    ]
    sections = [
        Section("Still firing", [_line(e) for e in firing[:TOP]], empty="nothing: all quiet"),
        Section("Top silenced errors", [_line(e) for e in errors[:TOP]], empty="no alert was held back"),
    ]
    subject = f"[errlog] Maintenance window #{window.id} ended: {window.silenced_alerts} alert(s) silenced"
    return Notice(KIND, subject, intro, sections)


def _line(error: SilencedError) -> str:
    return (
        f"#{error.issue_id} [{error.severity.upper()}] {error.title}: {error.events} event(s) during the window, "
        f"{error.alerts} alert(s) held back (errlog-tui --open {error.issue_id})"
    )


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
