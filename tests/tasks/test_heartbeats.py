"""The every-minute miss check on a controllable clock: a miss raises one critical error and pages once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import NotificationStatus
from db.heartbeats import create_heartbeat, record_check_in
from db.models import Comment, Event, Heartbeat, Issue, Notification
from errlog.settings import Settings
from tasks.heartbeats import check_heartbeats, find_missed, page
from tests.db.factories import make_project
from tests.tasks.receivers import Receiver

START = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def nightly(session: Session) -> Heartbeat:
    project = make_project(session, name="billing")
    heartbeat = create_heartbeat(
        session, project.id, "nightly-invoices", interval_minutes=1440, grace_minutes=30, now=START
    )
    session.commit()
    return heartbeat


def run_check(session: Session, now: dt.datetime) -> int:
    """One run of the periodic job at `now`; how many alerts it enqueued."""
    alerts = find_missed(session, now)
    page(alerts)
    return len(alerts)


def sent(session: Session) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.status == NotificationStatus.SENT)))


def test_a_miss_raises_one_critical_error_and_pages_once(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook")
    heartbeat = nightly(db_session)

    assert run_check(db_session, START + minutes(1440 + 29)) == 0  # within the grace: not late yet
    assert receiver.requests == []
    assert run_check(db_session, START + minutes(1440 + 30)) == 1
    assert run_check(db_session, START + minutes(1440 + 31)) == 0  # the same miss, a minute later
    assert run_check(db_session, START + minutes(3000)) == 0

    [issue] = db_session.scalars(select(Issue)).all()
    assert (issue.severity, issue.status, issue.fingerprint) == ("critical", "unresolved", "heartbeat:nightly-invoices")
    [event] = db_session.scalars(select(Event)).all()
    assert issue.title == "Heartbeat nightly-invoices is failing"
    assert event.message == "Heartbeat nightly-invoices missed its check-in (due by 2026-11-03 02:30 UTC)"
    db_session.refresh(heartbeat)
    assert (heartbeat.state, heartbeat.issue_id) == ("missed", issue.id)
    [notification] = sent(db_session)
    assert (notification.issue_id, notification.trigger) == (issue.id, "new")
    [request] = receiver.requests
    assert request.path == "/company-hook" and "nightly-invoices" in request.body.decode()


def test_an_ok_check_in_resolves_the_miss_and_the_next_miss_pages_again(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook")
    heartbeat = nightly(db_session)
    run_check(db_session, START + minutes(1500))

    back = START + minutes(1600)
    assert record_check_in(db_session, heartbeat, "ok", now=back) is None
    db_session.commit()
    [issue] = db_session.scalars(select(Issue)).all()
    [note] = db_session.scalars(select(Comment)).all()
    assert issue.status == "resolved" and note.author == "heartbeat" and "checked in ok" in note.body
    assert (heartbeat.state, heartbeat.issue_id, heartbeat.next_due_at) == ("ok", None, back + minutes(1470))

    assert run_check(db_session, back + minutes(1469)) == 0
    assert run_check(db_session, back + minutes(1470)) == 1
    db_session.refresh(issue)
    assert issue.status == "unresolved" and issue.is_regression
    assert sorted(n.trigger for n in sent(db_session)) == ["new", "regression"]


def test_an_error_check_in_marks_the_monitor_failing_and_a_later_miss_does_not_page_twice(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook")
    heartbeat = nightly(db_session)
    alert = record_check_in(db_session, heartbeat, "error", now=START + minutes(60), duration=3.2)
    db_session.commit()
    assert alert is not None and alert.trigger == "new"
    page([alert])
    assert heartbeat.state == "failing"

    # The failing run is still open when the next one is missed: the error gains an event, nobody is paged again.
    assert run_check(db_session, START + minutes(60 + 1470)) == 0
    [issue] = db_session.scalars(select(Issue)).all()
    db_session.refresh(issue)
    assert issue.times_seen == 2
    assert len(sent(db_session)) == 1 and len(receiver.requests) == 1


def test_a_paused_monitor_is_never_missed(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook")
    heartbeat = nightly(db_session)
    heartbeat.is_active = False
    db_session.commit()
    assert run_check(db_session, START + minutes(10_000)) == 0
    assert db_session.scalars(select(Issue)).all() == []


def test_the_periodic_task_runs_the_check_on_the_tasks_database(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook")
    project = make_project(db_session, name="billing")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    create_heartbeat(db_session, project.id, "hourly-sync", interval_minutes=60, grace_minutes=0, now=long_ago)
    db_session.commit()

    check_heartbeats()  # Huey in immediate mode: run here, under its lock, on the configured database
    check_heartbeats()

    db_session.expire_all()
    [heartbeat] = db_session.scalars(select(Heartbeat)).all()
    assert heartbeat.state == "missed" and heartbeat.issue_id is not None
    assert [n.trigger for n in sent(db_session)] == ["new"]
    assert len(receiver.requests) == 1
