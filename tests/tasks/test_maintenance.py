"""Maintenance windows in the alert task (scope, boundaries, counting) and their one summary, by e-mail and Slack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import NotificationStatus, Severity
from db.maintenance import add_window, end_window
from db.models import Issue, MaintenanceWindow, Notification, Project
from errlog.settings import Settings
from tasks.alerts import record_alert
from tasks.deliver import deliver_notification
from tasks.maintenance import summarise_ended_windows
from tasks.queue import runtime
from tests.db.factories import make_developer, make_event, make_issue, make_project
from tests.tasks.receivers import Inbox, Receiver, start_smtp

START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=2)


@pytest.fixture
def smtp(inbox: Inbox) -> Iterator[str]:
    controller = start_smtp(inbox)
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def channels(configure_tasks: Callable[..., Settings], receiver: Receiver, smtp: str) -> Settings:
    return configure_tasks(slack_webhook_url=receiver.url + "/slack", smtp_url=smtp, alert_cooldown_minutes=0)


def window(session: Session, project: Project | None, query: str | None = None) -> MaintenanceWindow:
    made = add_window(
        session,
        project_id=project.id if project else None,
        query=query,
        starts_at=START,
        ends_at=END,
        reason="DB migration",
        created_by="test",
    )
    session.commit()
    return made


def alert(session: Session, settings: Settings, issue_id: int, at: dt.datetime) -> list[Notification]:
    """Record an alert at `at` as the task does; the rows it made."""
    event = make_event(session, session.get_one(Issue, issue_id), received_at=at)
    session.commit()
    with runtime.session() as task_session:
        record_alert(task_session, settings, issue_id, "new", event.event_id, now=at)
    session.expire_all()
    return list(
        session.scalars(
            select(Notification).where(Notification.idempotency_key.contains(event.event_id)).order_by(Notification.id)
        )
    )


def test_a_window_holds_back_alerts_of_its_project_only_and_counts_them(
    db_session: Session, channels: Settings
) -> None:
    checkout, search = make_project(db_session, name="checkout"), make_project(db_session, name="search")
    quiet = make_issue(db_session, checkout, severity=Severity.HIGH, title="DB down")
    loud = make_issue(db_session, search, severity=Severity.HIGH, title="Index missing")
    made = window(db_session, checkout)

    held = alert(db_session, channels, quiet.id, START + dt.timedelta(minutes=5))
    assert held and {row.status for row in held} == {NotificationStatus.SUPPRESSED}
    assert {row.last_error for row in held} == {f"maintenance window #{made.id}: DB migration until 14:00 UTC"}
    paged = alert(db_session, channels, loud.id, START + dt.timedelta(minutes=5))
    assert paged and {row.status for row in paged} == {NotificationStatus.PENDING}

    db_session.refresh(made)
    assert made.silenced_alerts == 1
    # The task run again for the same alert (a retry) finds its rows and counts nothing more.
    event_id = held[0].idempotency_key.split(":")[3]
    with runtime.session() as task_session:
        record_alert(task_session, channels, quiet.id, "new", event_id, now=START + dt.timedelta(minutes=6))
    db_session.refresh(made)
    assert made.silenced_alerts == 1


def test_a_query_narrows_the_scope_and_a_window_for_all_projects_covers_each(
    db_session: Session, channels: Settings
) -> None:
    checkout, search = make_project(db_session, name="checkout"), make_project(db_session, name="search")
    critical = make_issue(db_session, checkout, severity=Severity.CRITICAL)
    high = make_issue(db_session, checkout, severity=Severity.HIGH)
    elsewhere = make_issue(db_session, search, severity=Severity.CRITICAL)
    window(db_session, None, query="level:critical")

    at = START + dt.timedelta(minutes=30)
    assert {r.status for r in alert(db_session, channels, critical.id, at)} == {NotificationStatus.SUPPRESSED}
    assert {r.status for r in alert(db_session, channels, elsewhere.id, at)} == {NotificationStatus.SUPPRESSED}
    assert {r.status for r in alert(db_session, channels, high.id, at)} == {NotificationStatus.PENDING}


def test_a_window_silences_from_its_start_up_to_but_not_at_its_end(db_session: Session, channels: Settings) -> None:
    project = make_project(db_session, name="checkout")
    issue = make_issue(db_session, project, severity=Severity.HIGH)
    window(db_session, project)

    def status_at(at: dt.datetime) -> set[NotificationStatus]:
        return {row.status for row in alert(db_session, channels, issue.id, at)}

    assert status_at(START - dt.timedelta(seconds=1)) == {NotificationStatus.PENDING}
    assert status_at(START) == {NotificationStatus.SUPPRESSED}
    assert status_at(END - dt.timedelta(seconds=1)) == {NotificationStatus.SUPPRESSED}
    assert status_at(END) == {NotificationStatus.PENDING}


def test_when_a_window_ends_one_summary_goes_to_the_on_call_by_mail_and_to_slack(
    db_session: Session, channels: Settings, receiver: Receiver, inbox: Inbox
) -> None:
    fallback = make_developer(db_session, name="Ana")
    project = make_project(db_session, name="checkout", fallback_developer_id=fallback.id)
    still_firing = make_issue(db_session, project, severity=Severity.CRITICAL, title="DB down", last_seen=END)
    calmed = make_issue(
        db_session, project, severity=Severity.HIGH, title="Slow query", last_seen=START + dt.timedelta(minutes=10)
    )
    made = window(db_session, project)
    alert(db_session, channels, still_firing.id, START + dt.timedelta(minutes=1))
    alert(db_session, channels, still_firing.id, START + dt.timedelta(minutes=2))
    alert(db_session, channels, calmed.id, START + dt.timedelta(minutes=3))
    db_session.get_one(Issue, still_firing.id).last_seen = END - dt.timedelta(minutes=1)
    db_session.commit()

    with runtime.session() as session:
        assert summarise_ended_windows(session, channels, END - dt.timedelta(seconds=1)) == []  # not over yet
    with runtime.session() as session:
        due = summarise_ended_windows(session, channels, END + dt.timedelta(seconds=30))
    for notification_id in due:
        deliver_notification(notification_id)

    (mail,) = inbox.messages()
    assert mail["To"] == fallback.email
    assert mail["Subject"] == f"[errlog] Maintenance window #{made.id} ended: 3 alert(s) silenced"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    firing = text.split("Still firing")[1].split("Top silenced errors")[0]
    assert f"#{still_firing.id} [CRITICAL] DB down: 2 event(s) during the window, 2 alert(s) held back" in firing
    assert "Slow query" not in firing
    assert f"#{calmed.id} [HIGH] Slow query" in text.split("Top silenced errors")[1]
    assert "<h3>Still firing</h3>" in html and "DB down" in html
    (slack,) = receiver.wait_for(1)
    blocks = slack.json()["blocks"]
    assert blocks[0]["text"]["text"].startswith(f"[errlog] Maintenance window #{made.id} ended")
    assert any("*Still firing*" in block["text"]["text"] and "DB down" in block["text"]["text"] for block in blocks[1:])

    # Once only: later runs find the window summarised.
    with runtime.session() as session:
        assert summarise_ended_windows(session, channels, END + dt.timedelta(minutes=5)) == []
    db_session.refresh(made)
    assert made.summary_sent_at == END + dt.timedelta(seconds=30)
    assert len(inbox.messages()) == 1


def test_a_planned_window_called_off_sends_no_summary(db_session: Session, channels: Settings, inbox: Inbox) -> None:
    project = make_project(db_session, name="checkout")
    made = window(db_session, project)
    with runtime.session() as session:
        end_window(session, session.get_one(MaintenanceWindow, made.id), START - dt.timedelta(hours=1))
    with runtime.session() as session:
        assert summarise_ended_windows(session, channels, START) == []
    assert inbox.messages() == []
