"""Retention: old events go in committed batches, errors keep their counts, roll-ups and notifications by age."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.enums import Channel, NotificationStatus
from db.models import (
    Event,
    Issue,
    IssueDailyCount,
    IssueHourlyCount,
    Notification,
    NotificationAttempt,
    ProjectHourlyCount,
    ProjectMinuteCount,
)
from db.retention import prune
from tests.db.factories import make_event, make_issue, make_project

NOW = dt.datetime(2026, 6, 1, 3, 17, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def notification(session: Session, key: str, status: NotificationStatus, age: dt.timedelta) -> Notification:
    row = Notification(
        idempotency_key=key,
        channel=Channel.EMAIL,
        target="ana@example.com",
        trigger="new",
        status=status,
        created_at=NOW - age,
    )
    session.add(row)
    session.flush()
    session.add(NotificationAttempt(notification_id=row.id, attempt=1, at=NOW - age))
    return row


def test_old_events_go_in_batches_and_the_error_keeps_its_counts(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(db_session)
    first_seen, last_seen = NOW - 100 * DAY, NOW - DAY
    issue = make_issue(db_session, project, first_seen=first_seen, last_seen=last_seen, times_seen=9, users_affected=4)
    old = [make_event(db_session, issue, received_at=NOW - (91 + n) * DAY).event_id for n in range(7)]
    young = [make_event(db_session, issue, received_at=NOW - n * DAY).event_id for n in (89, 1)]
    db_session.commit()

    commits = 0
    real_commit = db_session.commit

    def counting_commit() -> None:
        nonlocal commits
        commits += 1
        real_commit()

    monkeypatch.setattr(db_session, "commit", counting_commit)
    report = prune(db_session, NOW, retention_days=90, batch_size=3)
    monkeypatch.undo()

    assert report.events == 7
    assert commits >= 3  # 3 + 3 + 1 events, each batch committed on its own
    db_session.expire_all()
    remaining = set(db_session.scalars(select(Event.event_id)))
    assert remaining == set(young)
    assert not remaining & set(old)
    kept = db_session.get_one(Issue, issue.id)
    assert (kept.times_seen, kept.users_affected) == (9, 4)
    assert (kept.first_seen, kept.last_seen) == (first_seen, last_seen)
    # Daily counts outlive the events; hourly ones go after 35 days.
    assert count(db_session, IssueDailyCount) == 9
    hours = set(db_session.scalars(select(IssueHourlyCount.hour)))
    assert hours and all(hour >= NOW - 35 * DAY for hour in hours)
    assert all(h >= NOW - 35 * DAY for h in db_session.scalars(select(ProjectHourlyCount.hour)))
    assert report.hourly_rollups == 2 * 8  # 8 old hours, in both hourly tables
    # Per-minute counts go after two days: the event of yesterday keeps its minute.
    assert list(db_session.scalars(select(ProjectMinuteCount.minute))) == [NOW - DAY]
    assert report.minute_rollups == 8


def test_finished_notifications_past_retention_go_with_their_attempts(db_session: Session) -> None:
    notification(db_session, "old-sent", NotificationStatus.SENT, 91 * DAY)
    notification(db_session, "old-dead", NotificationStatus.DEAD, 120 * DAY)
    notification(db_session, "old-failed", NotificationStatus.FAILED, 91 * DAY)  # still has work to do
    notification(db_session, "young-sent", NotificationStatus.SENT, 89 * DAY)
    db_session.commit()

    report = prune(db_session, NOW, retention_days=90, batch_size=1)
    assert report.notifications == 2
    db_session.expire_all()
    assert set(db_session.scalars(select(Notification.idempotency_key))) == {"old-failed", "young-sent"}
    assert count(db_session, NotificationAttempt) == 2


def test_a_dry_run_counts_and_deletes_nothing(db_session: Session) -> None:
    issue = make_issue(db_session, make_project(db_session))
    for n in range(3):
        make_event(db_session, issue, received_at=NOW - (95 + n) * DAY)
    make_event(db_session, issue, received_at=NOW - DAY)
    notification(db_session, "old-sent", NotificationStatus.SENT, 91 * DAY)
    db_session.commit()

    report = prune(db_session, NOW, retention_days=90, dry_run=True)
    assert (report.events, report.hourly_rollups, report.notifications, report.dry_run) == (3, 6, 1, True)
    assert report.minute_rollups == 3
    assert count(db_session, Event) == 4 and count(db_session, Notification) == 1
    assert count(db_session, ProjectMinuteCount) == 4
