"""The alert task the collector enqueues: one notification per channel and target, idempotently, then delivery."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.enums import IssueStatus, NotificationStatus, Severity
from db.maintenance import count_silenced, silence_reason
from db.models import Developer, Escalation, Event, Issue, Notification, Project
from db.oncall import OncallError, on_call_for_project
from db.types import utcnow
from db.window_scope import silencing_window
from errlog.settings import Settings
from tasks.messages import message_for
from tasks.queue import huey, runtime
from tasks.routing import Recipient, Route, plan_routes

# The channels and delivery (httpx, smtplib: ~6 MiB) are imported where the task runs: each collector process
# imports this module only to enqueue alert_issue.

log = logging.getLogger(__name__)

TRIGGERS = frozenset({"new", "regression", "severity", "snooze_ended", "threshold", "escalation"})
# An escalation's event id names it ("esc-<escalation id>"): its page goes to that escalation's target.
_ESCALATION_EVENT = re.compile(r"^esc-([0-9]{1,18})$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Closed issues are not paged about, even when the alert was queued before someone closed them.
_QUIET_STATUSES = (IssueStatus.RESOLVED, IssueStatus.IGNORED)


class AlertError(ValueError):
    """An alert that cannot be processed as asked (unknown trigger, malformed event id)."""


# Retried while the database is away: 5 s, doubling, for about 20 minutes in all.
@huey.task(retries=8, retry_delay=5, retry_backoff=2)
def alert_issue(issue_id: int, trigger: str, event_id: str) -> None:
    """Alert about `issue_id` because of `trigger` (new, regression, severity, snooze_ended, threshold,
    escalation), caused by the event `event_id` (for an escalation: "esc-<escalation id>"). Calling it enqueues
    it; a failure (the database away) is retried by Huey."""
    try:
        with runtime.session() as session:
            due = record_alert(session, runtime.settings, issue_id, trigger, event_id, now=utcnow())
    except AlertError as exc:  # a caller's mistake: retrying cannot help
        log.error("alert for issue %s not sent: %s", issue_id, exc)
        return
    from tasks.deliver import deliver_notification

    for notification_id in due:
        deliver_notification(notification_id)


def check_alert(trigger: str, event_id: str) -> None:
    if trigger not in TRIGGERS:
        raise AlertError(f"unknown trigger {trigger!r}; expected one of {', '.join(sorted(TRIGGERS))}")
    check_event_id(event_id)


def check_event_id(event_id: str) -> None:
    if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        raise AlertError(f"malformed event id {event_id!r}")


def key_prefix(issue_id: int, trigger: str, event_id: str) -> str:
    return f"alert:{issue_id}:{trigger}:{event_id}:"


def idempotency_key(issue_id: int, trigger: str, event_id: str, route: Route) -> str:
    """Unique per (issue, trigger, event, channel, target); the target hashed, as a webhook URL can be long."""
    target = hashlib.sha256(route.target.encode()).hexdigest()[:16]
    return f"{key_prefix(issue_id, trigger, event_id)}{route.channel.value}:{target}"


def record_alert(
    session: Session, settings: Settings, issue_id: int, trigger: str, event_id: str, *, now: dt.datetime
) -> list[int]:
    """Create the alert's notifications (those already there are left alone) and return the ids of those waiting
    to be sent, including ones an earlier run created but did not get to hand over."""
    from tasks.channels import configured_channels

    check_alert(trigger, event_id)
    issue = session.get(Issue, issue_id)
    if issue is None:
        log.warning("alert %s for issue %s: no such issue (deleted?)", trigger, issue_id)
        return []
    if issue.status in _QUIET_STATUSES:
        log.info("alert %s for issue %s skipped: the issue is %s", trigger, issue_id, issue.status)
        return []
    project = session.get(Project, issue.project_id)
    assert project is not None  # a foreign key with ON DELETE CASCADE
    event = triggering_event(session, issue, event_id)
    escalation = escalation_of(session, issue_id, event_id) if trigger == "escalation" else None

    plan = plan_routes(
        severity=Severity(issue.severity),
        environment=event.environment if event is not None else issue.last_environment,
        recipient=escalation_recipient(session, escalation) or find_recipient(session, issue, project, now),
        configured=configured_channels(settings),
        now=now,
        project_routing=project.routing,
        alert_environments=project.alert_environments,
        webhook_urls=[url for url in (settings.webhook_url, project.webhook_url) if url],
    )
    for reason in plan.skipped:
        log.info("alert %s for issue %s: %s", trigger, issue_id, reason)
    if not plan.routes:
        return []

    # Each escalation is a new person being handed the error: never held back as a repeat.
    cooling = None if escalation is not None else cooldown_reason(session, settings, issue_id, trigger, event_id, now)
    note = escalation_note(session, escalation) if escalation is not None else None
    payload = message_for(issue, project.name, event, trigger, settings.public_url, note).to_payload()
    # A maintenance window holds back every route, whatever quiet hours or cool-down say; events are stored as ever.
    window = silencing_window(session, issue, now)
    silenced = silence_reason(window) if window is not None else None
    rows = []
    for route in plan.routes:
        held = silenced or route.suppressed or cooling
        rows.append(
            {
                "idempotency_key": idempotency_key(issue_id, trigger, event_id, route),
                "issue_id": issue_id,
                "project_id": project.id,
                "developer_id": route.developer_id,
                "channel": route.channel,
                "target": route.target,
                "trigger": trigger,
                "status": NotificationStatus.SUPPRESSED if held else NotificationStatus.PENDING,
                "attempts": 0,
                "max_attempts": settings.notification_max_attempts,
                "next_attempt_at": None if held else now,
                "last_error": held,
                "payload": payload,
                "created_at": now,
            }
        )
    keys = [str(row["idempotency_key"]) for row in rows]
    if window is not None and not already_recorded(session, keys):  # a task run twice counts once
        count_silenced(session, window.id)
    insert_new(session, rows)
    return list(
        session.scalars(
            select(Notification.id)
            .where(Notification.idempotency_key.in_(keys), Notification.status == NotificationStatus.PENDING)
            .order_by(Notification.id)
        )
    )


def insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the rows whose idempotency key is not taken yet, atomically (two runs racing insert each row once)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        session.execute(
            postgresql.insert(Notification).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        session.execute(
            sqlite.insert(Notification).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
    else:
        raise AlertError(f"notifications need SQLite or PostgreSQL, not {dialect}")


def already_recorded(session: Session, keys: list[str]) -> bool:
    return session.scalar(select(Notification.id).where(Notification.idempotency_key.in_(keys)).limit(1)) is not None


def triggering_event(session: Session, issue: Issue, event_id: str) -> Event | None:
    """The event that caused the alert, else the issue's latest (its stack and environment go in the message)."""
    event = session.scalar(
        select(Event).where(
            Event.project_id == issue.project_id, Event.event_id == event_id, Event.issue_id == issue.id
        )
    )
    if event is None:
        event = session.scalar(
            select(Event).where(Event.issue_id == issue.id).order_by(Event.received_at.desc(), Event.id.desc()).limit(1)
        )
    return event


def cooldown_reason(
    session: Session, settings: Settings, issue_id: int, trigger: str, event_id: str, now: dt.datetime
) -> str | None:
    """Why this alert is held back, if the same (issue, trigger) paged within the cool-down; alerts held back
    themselves do not extend it, so a flapping error pages once per cool-down period."""
    if settings.alert_cooldown_minutes <= 0:
        return None
    last = session.scalar(
        select(func.max(Notification.created_at)).where(
            Notification.issue_id == issue_id,
            Notification.trigger == trigger,
            Notification.status != NotificationStatus.SUPPRESSED,
            Notification.created_at > now - dt.timedelta(minutes=settings.alert_cooldown_minutes),
            ~Notification.idempotency_key.startswith(key_prefix(issue_id, trigger, event_id), autoescape=True),
        )
    )
    if last is None:
        return None
    return (
        f"cool-down: this error alerted for {trigger} at {last.astimezone(dt.UTC):%H:%M:%S} UTC, "
        f"less than {settings.alert_cooldown_minutes} min before"
    )


def escalation_of(session: Session, issue_id: int, event_id: str) -> Escalation | None:
    match = _ESCALATION_EVENT.match(event_id)
    escalation = session.get(Escalation, int(match.group(1))) if match else None
    if escalation is None or escalation.issue_id != issue_id:
        raise AlertError(f"no escalation {event_id!r} of error {issue_id}")
    return escalation


def escalation_recipient(session: Session, escalation: Escalation | None) -> Recipient | None:
    """The developer the error was escalated to (not the level-1 on-call), if they are still active."""
    if escalation is None or escalation.to_developer_id is None:
        return None
    developer = session.get(Developer, escalation.to_developer_id)
    return recipient_from(developer, "escalation") if developer is not None and developer.is_active else None


def escalation_note(session: Session, escalation: Escalation) -> str:
    """E.g. "Level 2, from Pia to Sam: unacknowledged for 15 min (step 1 of chain 'default')"."""

    def name(developer_id: int | None, missing: str) -> str:
        developer = session.get(Developer, developer_id) if developer_id is not None else None
        return developer.name if developer is not None else missing

    source, target = name(escalation.from_developer_id, "unassigned"), name(escalation.to_developer_id, "nobody")
    return f"Level {escalation.level}, from {source} to {target}: {escalation.reason}"


def find_recipient(session: Session, issue: Issue, project: Project, now: dt.datetime) -> Recipient | None:
    """The assignee, else the project's level-1 on-call developer, else its fallback developer (active ones)."""
    if issue.assignee_id is not None:
        developer = session.get(Developer, issue.assignee_id)
        if developer is not None and developer.is_active:
            return recipient_from(developer, "assignee")
    try:
        shift = on_call_for_project(session, project.id, now, level=1)
    except OncallError as exc:  # a broken schedule must not stop the page: fall back
        log.warning("on-call lookup for project %s failed: %s", project.id, exc)
        shift = None
    if shift is not None:
        developer = session.get(Developer, shift.developer_id)
        if developer is not None and developer.is_active:
            return recipient_from(developer, "on-call")
    if project.fallback_developer_id is not None:
        developer = session.get(Developer, project.fallback_developer_id)
        if developer is not None and developer.is_active:
            return recipient_from(developer, "fallback")
    return None


def recipient_from(developer: Developer, source: str) -> Recipient:
    return Recipient(
        developer_id=developer.id,
        name=developer.name,
        source=source,
        email=developer.email,
        phone=developer.phone,
        slack_id=developer.slack_id,
        ntfy_topic=developer.ntfy_topic,
        pushover_user_key=developer.pushover_user_key,
        timezone=developer.timezone or "UTC",
        channel_preferences=developer.channel_preferences,
        quiet_hours_start=developer.quiet_hours_start,
        quiet_hours_end=developer.quiet_hours_end,
    )
