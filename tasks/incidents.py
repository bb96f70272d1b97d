"""PagerDuty incidents follow the error: acknowledging or resolving it in errlog (API, bulk or TUI) sends the
incident's acknowledge or resolve event, as a notification row like every other send (idempotent, retried)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel, IssueStatus, NotificationStatus
from db.models import Issue, Notification, Project
from db.types import utcnow
from errlog.settings import Settings
from tasks.alerts import TRIGGERS, AlertError, check_event_id, idempotency_key, insert_new
from tasks.messages import message_for
from tasks.queue import huey, runtime
from tasks.routing import Route

# The channels and delivery (httpx: ~6 MiB) are imported where the task runs: each collector process imports this
# module only to enqueue update_incident.

log = logging.getLogger(__name__)

# Trigger -> the status the error must still have for the update to be worth sending.
INCIDENT_TRIGGERS = {"acknowledged": IssueStatus.ACKNOWLEDGED, "resolved": IssueStatus.RESOLVED}
_ROUTE = Route(Channel.PAGERDUTY, "default", None)  # the company-wide routing key, as the trigger used


@huey.task(retries=8, retry_delay=5, retry_backoff=2)
def update_incident(issue_id: int, trigger: str, event_id: str) -> None:
    """Tell PagerDuty that `issue_id` was acknowledged or resolved (`trigger`); `event_id` names that change, so
    the same change enqueued twice is sent once."""
    try:
        with runtime.session() as session:
            due = record_incident_update(session, runtime.settings, issue_id, trigger, event_id, now=utcnow())
    except AlertError as exc:
        log.error("incident update for issue %s not sent: %s", issue_id, exc)
        return
    from tasks.deliver import deliver_notification

    for notification_id in due:
        deliver_notification(notification_id)


def record_incident_update(
    session: Session, settings: Settings, issue_id: int, trigger: str, event_id: str, *, now: dt.datetime
) -> list[int]:
    """Create the PagerDuty update's notification when one is due: PagerDuty is configured, a trigger for this
    error reached PagerDuty, and the error is still in the state the update reports. The ids of rows to send."""
    if trigger not in INCIDENT_TRIGGERS:
        raise AlertError(f"unknown incident update {trigger!r}; expected one of {', '.join(INCIDENT_TRIGGERS)}")
    check_event_id(event_id)
    from tasks.channels import pagerduty

    if not pagerduty.configured(settings):
        return []
    issue = session.get(Issue, issue_id)
    if issue is None or issue.status != INCIDENT_TRIGGERS[trigger]:
        # Reopened (or resolved) since: the later change sends its own update, or the regression a new trigger.
        log.info("incident update %s for issue %s skipped: the issue is no longer %s", trigger, issue_id, trigger)
        return []
    if not triggered(session, issue_id):
        return []
    project = session.get(Project, issue.project_id)
    assert project is not None  # a foreign key with ON DELETE CASCADE
    key = idempotency_key(issue_id, trigger, event_id, _ROUTE)
    insert_new(
        session,
        [
            {
                "idempotency_key": key,
                "issue_id": issue_id,
                "project_id": project.id,
                "developer_id": None,
                "channel": Channel.PAGERDUTY,
                "target": _ROUTE.target,
                "trigger": trigger,
                "status": NotificationStatus.PENDING,
                "attempts": 0,
                "max_attempts": settings.notification_max_attempts,
                "next_attempt_at": now,
                "last_error": None,
                "payload": message_for(issue, project.name, None, trigger, settings.public_url).to_payload(),
                "created_at": now,
            }
        ],
    )
    return list(
        session.scalars(
            select(Notification.id).where(
                Notification.idempotency_key == key, Notification.status == NotificationStatus.PENDING
            )
        )
    )


def follow_late_trigger(notification_id: int) -> None:
    """A PagerDuty trigger (`notification_id`) was just delivered. If its error was acknowledged or resolved while the
    trigger was still being retried, that change's update found no incident to follow and sent nothing: send it now,
    so the incident does not stay open in PagerDuty for an error errlog holds as handled."""
    with runtime.session() as session:
        issue_id = session.scalar(select(Notification.issue_id).where(Notification.id == notification_id))
        status = session.scalar(select(Issue.status).where(Issue.id == issue_id)) if issue_id is not None else None
        trigger = next((t for t, state in INCIDENT_TRIGGERS.items() if state == status), None)
        if issue_id is None or trigger is None:
            return
        due = record_incident_update(
            session, runtime.settings, issue_id, trigger, f"after-trigger-{notification_id}", now=utcnow()
        )
    from tasks.deliver import deliver_notification

    for update_id in due:
        deliver_notification(update_id)


def triggered(session: Session, issue_id: int) -> bool:
    """Whether PagerDuty has an incident for the error: one of its trigger events was delivered."""
    return (
        session.scalar(
            select(Notification.id)
            .where(
                Notification.issue_id == issue_id,
                Notification.channel == Channel.PAGERDUTY,
                Notification.trigger.in_(TRIGGERS),
                Notification.status == NotificationStatus.SENT,
            )
            .limit(1)
        )
        is not None
    )
