"""GET notifications/ (deliveries with their attempts) and POST notifications/{id}/retry/."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest, not_found
from collector.api.inputs import BigRowId, RowId, path_id
from collector.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, after, decode_cursor, encode_cursor
from collector.api.schemas import DeveloperRef
from db.enums import Channel, NotificationStatus, Role
from db.models import Developer, Issue, Notification

log = logging.getLogger(__name__)
api = Api()

RETRYABLE = (NotificationStatus.FAILED, NotificationStatus.DEAD, NotificationStatus.SUPPRESSED)


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None


class NotificationOut(BaseModel):
    id: int
    error_id: int | None
    error_title: str | None
    project_id: int | None
    developer: DeveloperRef | None
    channel: Channel
    target: str = Field(description="Address on the channel: e-mail, phone number, ntfy topic, webhook URL...")
    trigger: str = Field(description="Why it was sent: new, regression, severity, threshold, escalation...")
    status: NotificationStatus
    attempts: int
    max_attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    attempt_log: list[AttemptOut] | None = Field(None, description="Every attempt, with ?include=attempts.")


class RetryOut(BaseModel):
    notification: NotificationOut
    queued: bool = Field(
        description="Whether a delivery was queued now; if not, the worker's periodic sweep sends it when it runs."
    )


class NotificationsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: list[NotificationStatus] | None = Field(None, description="Repeat or comma-separate.")
    channel: list[Channel] | None = Field(None, description="Repeat or comma-separate.")
    error_id: BigRowId | None = None
    developer_id: RowId | None = None
    include: list[Literal["attempts"]] | None = Field(None, description="attempts: add each row's attempt log.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


def notification_out(
    notification: Notification, title: str | None, developer: Developer | None, *, with_attempts: bool
) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        error_id=notification.issue_id,
        error_title=title,
        project_id=notification.project_id,
        developer=DeveloperRef.model_validate(developer) if developer else None,
        channel=notification.channel,
        target=notification.target,
        trigger=notification.trigger,
        status=notification.status,
        attempts=notification.attempts,
        max_attempts=notification.max_attempts,
        last_status_code=notification.last_status_code,
        last_error=notification.last_error,
        next_attempt_at=notification.next_attempt_at,
        created_at=notification.created_at,
        sent_at=notification.sent_at,
        attempt_log=[AttemptOut.model_validate(a) for a in notification.attempt_log] if with_attempts else None,
    )


def _rows(with_attempts: bool) -> Any:
    query = (
        select(Notification, Issue.title, Developer)
        .outerjoin(Issue, Issue.id == Notification.issue_id)
        .outerjoin(Developer, Developer.id == Notification.developer_id)
    )
    return query.options(selectinload(Notification.attempt_log)) if with_attempts else query


@api.route(
    "GET",
    "/notifications/",
    role=Role.VIEWER,
    summary="List notifications with their delivery state, newest first",
    tag="notifications",
    query=NotificationsQuery,
    response=Page[NotificationOut],
)
def list_notifications(ctx: ApiContext, req: ApiRequest) -> Page[NotificationOut]:
    q: NotificationsQuery = req.query
    with_attempts = "attempts" in (q.include or [])
    query = _rows(with_attempts)
    if q.status:
        query = query.where(Notification.status.in_(q.status))
    if q.channel:
        query = query.where(Notification.channel.in_(q.channel))
    if q.error_id is not None:
        query = query.where(Notification.issue_id == q.error_id)
    if q.developer_id is not None:
        query = query.where(Notification.developer_id == q.developer_id)
    if q.cursor:
        at, notification_id = decode_cursor(q.cursor, [dt.datetime, int])
        query = query.where(after([Notification.created_at, Notification.id], [at, notification_id], descending=True))
    order = (Notification.created_at.desc(), Notification.id.desc())
    rows = ctx.session.execute(query.order_by(*order).limit(q.limit + 1)).all()
    items = [notification_out(n, title, dev, with_attempts=with_attempts) for n, title, dev in rows[: q.limit]]
    last = rows[q.limit - 1][0] if len(rows) > q.limit else None
    return Page[NotificationOut](items=items, next_cursor=encode_cursor([last.created_at, last.id]) if last else None)


def enqueue_delivery(notification_id: int) -> bool:
    """Queue the delivery task for a committed notification; False when the task or the queue is unavailable,
    in which case the worker's periodic sweep sends it (it is due now)."""
    try:
        deliver = importlib.import_module("tasks.deliver").deliver_notification
    except (ImportError, AttributeError) as exc:
        log.info("delivery task not available (%s): notification %s waits for the sweep", exc, notification_id)
        return False
    try:
        deliver(notification_id)
    except Exception:  # a queue that is down must not undo a retry already committed
        log.warning("could not queue notification %s: the sweep will send it", notification_id, exc_info=True)
        return False
    return True


@api.route(
    "POST",
    "/notifications/{notification_id:int}/retry/",
    role=Role.RESPONDER,
    summary="Send a failed, dead or suppressed notification again",
    tag="notifications",
    response=RetryOut,
)
def retry_notification(ctx: ApiContext, req: ApiRequest) -> RetryOut:
    """Sets it pending and due now, keeping its attempt count (and allowing at least one more attempt)."""
    notification_id = path_id(req, "notification_id", "notification", big=True)
    # Locked (on PostgreSQL), so a worker picking the row up at the same moment waits for this change.
    row = ctx.session.execute(
        _rows(True).where(Notification.id == notification_id).with_for_update(of=Notification)
    ).first()
    if row is None:
        raise not_found("notification", notification_id)
    notification, title, developer = row
    if notification.status not in RETRYABLE:
        raise ApiError(
            409,
            f"notification {notification.id} is {notification.status}; only failed, dead or suppressed ones can be"
            " retried",
        )
    before = {
        "status": notification.status,
        "next_attempt_at": notification.next_attempt_at,
        "max_attempts": notification.max_attempts,
    }
    notification.status = NotificationStatus.PENDING
    notification.next_attempt_at = ctx.now
    # A dead notification may have used up its attempts: a retry by hand earns it one more.
    notification.max_attempts = max(notification.max_attempts, notification.attempts + 1)
    after_ = {
        "status": notification.status,
        "next_attempt_at": notification.next_attempt_at,
        "max_attempts": notification.max_attempts,
    }
    ctx.audit("notification.retry", "notification", notification.id, before=before, after=after_)
    # The task must find the row pending: commit before queueing it.
    ctx.session.commit()
    queued = enqueue_delivery(notification.id)
    return RetryOut(notification=notification_out(notification, title, developer, with_attempts=True), queued=queued)
