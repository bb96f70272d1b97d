"""Delivery of one notification with its retries, and the sweep that picks up what is due or was lost."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from huey import crontab
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from db.enums import Channel, NotificationStatus
from db.models import Notification, NotificationAttempt
from db.types import utcnow
from tasks import channels
from tasks.channels import DeliveryError, DeliveryResult, pagerduty
from tasks.queue import huey, runtime

log = logging.getLogger(__name__)

# A row moves PENDING -> SENDING -> SENT, or FAILED (retried at next_attempt_at) or DEAD. The move to SENDING is one
# conditional UPDATE, so of two workers handed the same row only one sends it. While a row is SENDING its
# next_attempt_at is the end of the sender's lease: a worker killed mid-delivery leaves the row SENDING, and once the
# lease is over the sweep records the lost attempt and retries it. That retry may repeat a message the dead worker
# had already sent (nobody can tell): delivery is at least once, and webhooks carry X-Errlog-Delivery for that case.

# Longer than any one attempt can take (timeouts are at most 120 s), so a live sender never loses its row.
SENDING_LEASE = dt.timedelta(minutes=5)
# A PENDING row this old was committed but its task never ran (the process died between commit and enqueue).
# Long enough that a busy queue is not refilled with duplicates of tasks still waiting in it.
LOST_ENQUEUE_GRACE = dt.timedelta(minutes=3)
MAX_BACKOFF_SECONDS = 3600.0
MAX_RETRY_AFTER_SECONDS = 6 * 3600.0
SWEEP_BATCH = 500
LOST_ATTEMPT = "the worker stopped during this attempt (killed or crashed); the message may or may not have gone out"

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class DeliveryOutcome:
    notification_id: int
    # False when another worker holds the row, or it is not due, or already finished: nothing was sent.
    claimed: bool
    status: NotificationStatus | None = None
    # Seconds until the next attempt, when one is scheduled.
    retry_in: float | None = None
    # A PagerDuty incident was opened (or re-triggered) by this send: its error's state must follow it.
    opened_incident: bool = False


# Huey's own retries only cover the database being away; failed sends are rescheduled below, with their backoff.
@huey.task(retries=8, retry_delay=5, retry_backoff=2)
def deliver_notification(notification_id: int) -> None:
    """Send one notification if it is due and nobody else is sending it; schedule its retry when it fails."""
    outcome = deliver(notification_id)
    if outcome.retry_in is not None:
        deliver_notification.schedule((notification_id,), delay=outcome.retry_in)
    if outcome.opened_incident:
        from tasks.incidents import follow_late_trigger  # tasks.incidents sends through this module

        follow_late_trigger(notification_id)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("retry-due-notifications", ttl=int(SENDING_LEASE.total_seconds()))
def retry_due_notifications() -> None:
    """Every minute: recover rows whose sender died, and enqueue every row that is due (the scheduled retries
    normally get there first; this catches the ones a restart or an outage dropped)."""
    with runtime.session() as session:
        due = sweep(session, utcnow())
    for notification_id in due:
        deliver_notification(notification_id)
    if due:
        log.info("retry sweep enqueued %d notification(s)", len(due))


def backoff_seconds(
    attempt: int, base: float, retry_after: float | None = None, rng: Callable[[float, float], float] = random.uniform
) -> float:
    """Wait before the attempt after `attempt`: what the service asked for (Retry-After, up to six hours), else
    exponential from `base` with "equal jitter": between half and all of base * 2^(attempt-1), capped at an hour,
    so retries from many workers spread out but still grow."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), MAX_RETRY_AFTER_SECONDS)
    ceiling = min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)
    return ceiling / 2 + rng(0, ceiling / 2)


def claim(session: Session, notification_id: int, now: dt.datetime) -> int | None:
    """Take a due PENDING or FAILED row for sending; the attempt number, or None if it is not ours to send."""
    attempt: int | None = session.scalar(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status.in_([NotificationStatus.PENDING, NotificationStatus.FAILED]),
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
        )
        .values(
            status=NotificationStatus.SENDING,
            attempts=Notification.attempts + 1,
            next_attempt_at=now + SENDING_LEASE,
        )
        .returning(Notification.attempts)
        .execution_options(synchronize_session=False)
    )
    return attempt


def deliver(notification_id: int, *, clock: Clock = utcnow) -> DeliveryOutcome:
    """Claim, send and record one attempt. The claim is committed before sending, so no transaction stays open
    while a slow service answers."""
    settings = runtime.settings
    with runtime.session() as session:
        attempt = claim(session, notification_id, clock())
        notification = session.get(Notification, notification_id) if attempt is not None else None
    if attempt is None or notification is None:
        return DeliveryOutcome(notification_id, claimed=False)

    started_at = clock()
    started = time.monotonic()
    result: DeliveryResult | None = None
    error: DeliveryError | None = None
    try:
        if not notification.payload:
            raise DeliveryError("the notification has no message to send", transient=False)
        result = channels.send_payload(notification, notification.payload, settings)
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a bug in a channel: keep it visible on the row, and retry in case it passes
        log.exception("notification %s: %s sender failed", notification_id, notification.channel)
        error = DeliveryError(f"internal error: {type(exc).__name__}: {exc}", transient=True)
    duration_ms = int((time.monotonic() - started) * 1000)

    with runtime.session() as session:
        outcome = record_outcome(
            session,
            notification_id,
            attempt,
            max_attempts=notification.max_attempts,
            base_delay=settings.notification_retry_seconds,
            started_at=started_at,
            duration_ms=duration_ms,
            result=result,
            error=error,
            now=clock(),
        )
    if outcome.status == NotificationStatus.SENT and notification.channel == Channel.PAGERDUTY:
        return replace(outcome, opened_incident=notification.trigger not in pagerduty.UPDATE_ACTIONS)
    return outcome


def record_outcome(
    session: Session,
    notification_id: int,
    attempt: int,
    *,
    max_attempts: int,
    base_delay: float,
    started_at: dt.datetime,
    duration_ms: int,
    result: DeliveryResult | None,
    error: DeliveryError | None,
    now: dt.datetime,
) -> DeliveryOutcome:
    """Keep the attempt and move the row to SENT, FAILED (with its next attempt) or DEAD."""
    status_code = error.status_code if error is not None else (result.status_code if result else None)
    # merge: the sweep may already have written this attempt as lost, if this sender outlived its lease.
    session.merge(
        NotificationAttempt(
            notification_id=notification_id,
            attempt=attempt,
            at=started_at,
            status_code=status_code,
            error=str(error) if error is not None else None,
            duration_ms=duration_ms,
        )
    )
    retry_in = None
    values: dict[str, Any]
    if error is None:
        status = NotificationStatus.SENT
        values = {"sent_at": now, "next_attempt_at": None, "last_error": None}
    elif error.transient and attempt < max_attempts:
        status = NotificationStatus.FAILED
        retry_in = backoff_seconds(attempt, base_delay, error.retry_after)
        values = {"next_attempt_at": now + dt.timedelta(seconds=retry_in), "last_error": str(error)}
    else:
        status = NotificationStatus.DEAD
        reason = str(error) if not error.transient else f"{error} (gave up after {attempt} attempts)"
        values = {"next_attempt_at": None, "last_error": reason}
    changed = session.scalar(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == NotificationStatus.SENDING,
            Notification.attempts == attempt,
        )
        .values(status=status, last_status_code=status_code, **values)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    if changed is None:
        log.warning("notification %s was taken over after its lease ran out; attempt %s kept", notification_id, attempt)
        return DeliveryOutcome(notification_id, claimed=True)
    if error is not None:
        log.warning("notification %s attempt %s: %s -> %s", notification_id, attempt, error, status)
    return DeliveryOutcome(notification_id, claimed=True, status=status, retry_in=retry_in)


def sweep(session: Session, now: dt.datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Turn rows whose sender's lease ran out into retries (or DEAD, if that was the last attempt), recording the
    lost attempt; then return the ids of rows due to be sent."""
    stuck = session.execute(
        select(Notification.id, Notification.attempts, Notification.max_attempts, Notification.next_attempt_at)
        .where(Notification.status == NotificationStatus.SENDING, Notification.next_attempt_at <= now)
        .limit(limit)
    ).all()
    for row in stuck:
        exhausted = row.attempts >= row.max_attempts
        changed = session.scalar(
            update(Notification)
            .where(
                Notification.id == row.id,
                Notification.status == NotificationStatus.SENDING,
                Notification.attempts == row.attempts,
                Notification.next_attempt_at <= now,
            )
            .values(
                status=NotificationStatus.DEAD if exhausted else NotificationStatus.FAILED,
                next_attempt_at=None if exhausted else now,
                last_error=LOST_ATTEMPT + (f" (gave up after {row.attempts} attempts)" if exhausted else ""),
            )
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        if changed is not None:
            log.warning("notification %s: attempt %s was lost with its worker", row.id, row.attempts)
            session.merge(
                NotificationAttempt(
                    notification_id=row.id,
                    attempt=row.attempts,
                    at=row.next_attempt_at - SENDING_LEASE,  # when the lost attempt began
                    error=LOST_ATTEMPT,
                )
            )
    session.flush()
    due = select(Notification.id).where(
        or_(
            and_(Notification.status == NotificationStatus.FAILED, Notification.next_attempt_at <= now),
            and_(
                Notification.status == NotificationStatus.PENDING,
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now - LOST_ENQUEUE_GRACE),
            ),
        )
    )
    return list(session.scalars(due.order_by(Notification.next_attempt_at, Notification.id).limit(limit)))
