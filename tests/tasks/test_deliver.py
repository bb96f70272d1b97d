"""Delivery: one claim per row, retries with backoff and Retry-After, permanent failures, dead rows, the sweep."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel, NotificationStatus
from db.models import Notification, NotificationAttempt
from db.types import utcnow
from errlog.settings import Settings
from tasks.deliver import (
    LOST_ATTEMPT,
    LOST_ENQUEUE_GRACE,
    SENDING_LEASE,
    backoff_seconds,
    claim,
    deliver,
    deliver_notification,
    retry_due_notifications,
    sweep,
)
from tasks.queue import huey, runtime
from tests.db.factories import make_issue, make_project
from tests.tasks.channels.helpers import make_message
from tests.tasks.receivers import Receiver, Reply, closed_port_url

T0 = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)  # a fixed "now", later than anything the rows hold


def at(moment: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: moment


def make_webhook_row(session: Session, url: str, **fields: Any) -> Notification:
    issue = make_issue(session, make_project(session))
    fields.setdefault("next_attempt_at", T0)
    fields.setdefault("max_attempts", 4)
    fields.setdefault("status", NotificationStatus.PENDING)
    row = Notification(
        idempotency_key=f"test:{issue.id}",
        issue_id=issue.id,
        project_id=issue.project_id,
        channel=Channel.WEBHOOK,
        target=url,
        trigger="new",
        payload=make_message(issue_id=issue.id).to_payload(),
        **fields,
    )
    session.add(row)
    session.commit()
    return row


def reread(session: Session, row: Notification) -> tuple[Notification, list[NotificationAttempt]]:
    session.commit()
    session.expire_all()
    fresh = session.get(Notification, row.id)
    assert fresh is not None
    attempts = session.scalars(
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id == row.id)
        .order_by(NotificationAttempt.attempt)
    )
    return fresh, list(attempts)


@pytest.fixture
def settings(configure_tasks: Callable[..., Settings]) -> Settings:
    return configure_tasks(notification_retry_seconds=20, notification_timeout_seconds=0.5)


def test_success_is_recorded_with_its_attempt(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    row = make_webhook_row(db_session, receiver.url)
    outcome = deliver(row.id, clock=at(T0))
    assert outcome.claimed and outcome.status == NotificationStatus.SENT and outcome.retry_in is None
    fresh, attempts = reread(db_session, row)
    assert (fresh.status, fresh.attempts, fresh.sent_at, fresh.last_status_code) == (
        NotificationStatus.SENT,
        1,
        T0,
        200,
    )
    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [(1, 200, None)]
    assert attempts[0].duration_ms is not None and attempts[0].duration_ms >= 0
    # Sent means sent: handing it over again does nothing.
    assert not deliver(row.id, clock=at(T0 + dt.timedelta(hours=1))).claimed
    assert len(receiver.requests) == 1


def test_a_5xx_is_retried_with_backoff_until_it_succeeds(
    db_session: Session, settings: Settings, receiver: Receiver
) -> None:
    receiver.reply(Reply(503, b"maintenance"))
    row = make_webhook_row(db_session, receiver.url)
    first = deliver(row.id, clock=at(T0))
    assert first.status == NotificationStatus.FAILED
    assert first.retry_in is not None and 10 <= first.retry_in <= 20  # half to all of the 20 s base
    fresh, _ = reread(db_session, row)
    assert fresh.next_attempt_at == T0 + dt.timedelta(seconds=first.retry_in)
    assert fresh.last_error == "HTTP 503 Service Unavailable: maintenance" and fresh.last_status_code == 503

    # Not before it is due...
    assert not deliver(row.id, clock=at(T0 + dt.timedelta(seconds=first.retry_in - 1))).claimed
    # ...then it goes.
    second = deliver(row.id, clock=at(T0 + dt.timedelta(seconds=first.retry_in)))
    assert second.status == NotificationStatus.SENT
    fresh, attempts = reread(db_session, row)
    assert fresh.status == NotificationStatus.SENT and fresh.last_error is None
    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [
        (1, 503, "HTTP 503 Service Unavailable: maintenance"),
        (2, 200, None),
    ]


def test_the_task_schedules_its_own_retry(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    receiver.reply(Reply(500, b"oops"))
    row = make_webhook_row(db_session, receiver.url, next_attempt_at=None)
    deliver_notification(row.id)
    (scheduled,) = huey.scheduled()
    assert scheduled.args == (row.id,) and scheduled.eta is not None
    fresh, _ = reread(db_session, row)
    assert fresh.status == NotificationStatus.FAILED and fresh.next_attempt_at is not None


def test_retry_after_is_honoured(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    receiver.reply(Reply(429, b"rate limited", {"Retry-After": "120"}))
    row = make_webhook_row(db_session, receiver.url)
    outcome = deliver(row.id, clock=at(T0))
    assert outcome.status == NotificationStatus.FAILED and outcome.retry_in == 120.0
    fresh, attempts = reread(db_session, row)
    assert fresh.next_attempt_at == T0 + dt.timedelta(seconds=120)
    assert attempts[0].status_code == 429


@pytest.mark.parametrize("failure", ["timeout", "refused"])
def test_timeouts_and_refused_connections_are_retried(
    db_session: Session, settings: Settings, receiver: Receiver, failure: str
) -> None:
    if failure == "timeout":
        receiver.reply(Reply(hang=True))
        url = receiver.url
    else:
        url = closed_port_url()
    row = make_webhook_row(db_session, url)
    assert deliver(row.id, clock=at(T0)).status == NotificationStatus.FAILED
    fresh, attempts = reread(db_session, row)
    expected = "timed out after 0.5 s" if failure == "timeout" else "ConnectError"
    assert expected in (fresh.last_error or "") and fresh.last_status_code is None
    assert attempts[0].error == fresh.last_error and attempts[0].status_code is None


def test_other_4xx_are_permanent(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    receiver.reply(Reply(404, b"no such hook"))
    row = make_webhook_row(db_session, receiver.url)
    outcome = deliver(row.id, clock=at(T0))
    assert outcome.status == NotificationStatus.DEAD and outcome.retry_in is None
    fresh, attempts = reread(db_session, row)
    assert (fresh.status, fresh.attempts, fresh.next_attempt_at) == (NotificationStatus.DEAD, 1, None)
    assert fresh.last_error == "HTTP 404 Not Found: no such hook"
    assert len(attempts) == 1
    assert not deliver(row.id, clock=at(T0 + dt.timedelta(days=1))).claimed


def test_dead_after_the_last_attempt_with_every_attempt_kept(
    db_session: Session, settings: Settings, receiver: Receiver
) -> None:
    receiver.reply(*[Reply(500, b"down")] * 3)
    row = make_webhook_row(db_session, receiver.url, max_attempts=3)
    now = T0
    for _ in range(3):
        outcome = deliver(row.id, clock=at(now))
        if outcome.retry_in is not None:
            now += dt.timedelta(seconds=outcome.retry_in)
    assert outcome.status == NotificationStatus.DEAD
    fresh, attempts = reread(db_session, row)
    assert fresh.status == NotificationStatus.DEAD and fresh.attempts == 3
    assert fresh.last_error == "HTTP 500 Internal Server Error: down (gave up after 3 attempts)"
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 500)]
    assert len(receiver.requests) == 3


def test_only_one_of_two_claims_wins(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    row = make_webhook_row(db_session, receiver.url)
    with runtime.session() as first, runtime.session() as second:
        assert claim(first, row.id, T0) == 1
        first.commit()
        assert claim(second, row.id, T0) is None


def test_two_workers_racing_send_once(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    rows = [make_webhook_row(db_session, receiver.url) for _ in range(5)]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for row in rows:
                deliver(row.id, clock=at(T0))
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise be lost
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(receiver.requests) == 5
    assert sorted(r.headers["x-errlog-delivery"] for r in receiver.requests) == sorted(r.idempotency_key for r in rows)


def test_the_sweep_recovers_a_row_whose_worker_died(
    db_session: Session, settings: Settings, receiver: Receiver
) -> None:
    row = make_webhook_row(db_session, receiver.url)
    with runtime.session() as session:
        assert claim(session, row.id, T0) == 1  # ...and the worker is killed before it sends
    # Within the lease the row still belongs to that worker.
    with runtime.session() as session:
        assert sweep(session, T0 + SENDING_LEASE - dt.timedelta(seconds=1)) == []
    later = T0 + SENDING_LEASE
    with runtime.session() as session:
        assert sweep(session, later) == [row.id]
    fresh, attempts = reread(db_session, row)
    assert fresh.status == NotificationStatus.FAILED and fresh.last_error == LOST_ATTEMPT
    assert [(a.attempt, a.at, a.error) for a in attempts] == [(1, T0, LOST_ATTEMPT)]

    assert deliver(row.id, clock=at(later)).status == NotificationStatus.SENT
    fresh, attempts = reread(db_session, row)
    assert fresh.attempts == 2 and [a.status_code for a in attempts] == [None, 200]


def test_a_lost_last_attempt_makes_the_row_dead(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    row = make_webhook_row(db_session, receiver.url, max_attempts=1)
    with runtime.session() as session:
        claim(session, row.id, T0)
    with runtime.session() as session:
        assert sweep(session, T0 + SENDING_LEASE) == []
    fresh, _ = reread(db_session, row)
    assert fresh.status == NotificationStatus.DEAD
    assert fresh.last_error == LOST_ATTEMPT + " (gave up after 1 attempts)"


def test_the_sweep_returns_what_is_due(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    due = make_webhook_row(db_session, receiver.url, status=NotificationStatus.FAILED, next_attempt_at=T0)
    later = make_webhook_row(
        db_session, receiver.url, status=NotificationStatus.FAILED, next_attempt_at=T0 + dt.timedelta(minutes=5)
    )
    forgotten = make_webhook_row(db_session, receiver.url, next_attempt_at=T0 - LOST_ENQUEUE_GRACE)
    waiting = T0 - LOST_ENQUEUE_GRACE + dt.timedelta(seconds=1)  # its task is still in the queue
    recent = make_webhook_row(db_session, receiver.url, next_attempt_at=waiting)
    make_webhook_row(db_session, receiver.url, status=NotificationStatus.SENT, next_attempt_at=None)
    make_webhook_row(db_session, receiver.url, status=NotificationStatus.DEAD, next_attempt_at=None)
    with runtime.session() as session:
        assert sorted(sweep(session, T0)) == sorted([due.id, forgotten.id])
    assert later.id and recent.id


def test_the_periodic_sweep_delivers_and_skips_while_locked(
    db_session: Session, settings: Settings, receiver: Receiver
) -> None:
    row = make_webhook_row(
        db_session, receiver.url, status=NotificationStatus.FAILED, next_attempt_at=utcnow() - dt.timedelta(seconds=1)
    )
    with huey.lock_task("retry-due-notifications"):  # another worker is sweeping
        retry_due_notifications()
    assert receiver.requests == []
    retry_due_notifications()
    assert len(receiver.requests) == 1
    fresh, _ = reread(db_session, row)
    assert fresh.status == NotificationStatus.SENT


def test_backoff() -> None:
    low = backoff_seconds(1, 20, rng=lambda a, b: a)
    high = backoff_seconds(1, 20, rng=lambda a, b: b)
    assert (low, high) == (10, 20)
    assert [backoff_seconds(n, 20, rng=lambda a, b: b) for n in range(1, 6)] == [20, 40, 80, 160, 320]
    assert backoff_seconds(30, 20, rng=lambda a, b: b) == 3600  # capped at an hour
    assert backoff_seconds(1, 20, retry_after=300) == 300
    assert backoff_seconds(1, 20, retry_after=0) == 1
    assert backoff_seconds(1, 20, retry_after=10**9) == 6 * 3600
    spread = {backoff_seconds(3, 20) for _ in range(50)}
    assert len(spread) > 1 and all(40 <= s <= 80 for s in spread)


def test_a_row_without_a_message_is_dead(db_session: Session, settings: Settings, receiver: Receiver) -> None:
    row = make_webhook_row(db_session, receiver.url)
    row.payload = None
    db_session.commit()
    assert deliver(row.id, clock=at(T0)).status == NotificationStatus.DEAD
    assert receiver.requests == []
