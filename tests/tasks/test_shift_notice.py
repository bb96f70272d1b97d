"""Shift-start notices: one per shift (however often the job runs), on e-mail and push, right across a DST change,
for overrides too, and push held back in quiet hours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel, NotificationStatus
from db.models import Developer, Notification, OncallSchedule, Project
from db.oncall import add_override, create_rotation
from db.types import utcnow
from errlog.settings import Settings
from tasks.deliver import deliver_notification
from tasks.queue import runtime
from tasks.shift_notice import TRIGGER, record_shift_notices, send_shift_notices
from tests.db.factories import make_developer, make_project
from tests.tasks.receivers import Inbox, Receiver, start_smtp

# Berlin leaves summer time on Sunday 25 October 2026 at 03:00 CEST (01:00 UTC): the daily 09:00 hand-off is at
# 07:00 UTC on Saturday and 08:00 UTC on Sunday.
SUNDAY = dt.datetime(2026, 10, 25, tzinfo=dt.UTC)


def at(hours: int, minutes: int = 0) -> dt.datetime:
    return SUNDAY + dt.timedelta(hours=hours, minutes=minutes)


@pytest.fixture
def settings(configure_tasks: Callable[..., Settings], receiver: Receiver, inbox: Inbox) -> Iterator[Settings]:
    controller = start_smtp(inbox)
    try:
        yield configure_tasks(ntfy_url=receiver.url + "/ntfy", smtp_url=f"smtp://127.0.0.1:{controller.port}")
    finally:
        controller.stop()


@pytest.fixture
def rota(db_session: Session) -> tuple[Project, OncallSchedule, Developer, Developer]:
    """payments: Ana from Saturday 09:00, Ben from Sunday 09:00, daily, Berlin time."""
    project = make_project(db_session, name="payments")
    ana, ben = (
        make_developer(db_session, name, ntfy_topic=f"{name.lower()}-pager", timezone="Europe/Berlin")
        for name in ("Ana", "Ben")
    )
    rotation = create_rotation(
        db_session,
        schedule_name="payments on-call",
        project_id=project.id,
        level=1,
        participant_ids=[ana.id, ben.id],
        start_date=dt.date(2026, 10, 24),
        handoff_time=dt.time(9),
        timezone="Europe/Berlin",
        shift_hours=24,
    )
    db_session.commit()
    return project, rotation.schedule, ana, ben


def run_at(now: dt.datetime) -> list[int]:
    """One run of the job at `now`, delivering what it created."""
    with runtime.session() as session:
        due = record_shift_notices(session, runtime.settings, now)
    for notification_id in due:
        deliver_notification(notification_id)
    return due


def text_of(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())


def notices(session: Session) -> list[Notification]:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.trigger == TRIGGER).order_by(Notification.id)))


def test_the_developer_is_told_once_when_their_shift_starts_across_the_dst_change(
    db_session: Session, settings: Settings, receiver: Receiver, inbox: Inbox, rota: Any
) -> None:
    _, _, _, ben = rota
    # 07:05 UTC is 08:05 CET: a clock still on summer time would have handed over to Ben at 07:00 UTC.
    assert run_at(at(7, 5)) == []
    assert len(run_at(at(8, 5))) == 2  # e-mail and push
    # Later runs look back over the same shift start: nothing more.
    assert run_at(at(8, 10)) == [] and run_at(at(8, 30)) == [] and run_at(at(9)) == []

    rows = notices(db_session)
    assert sorted(row.channel for row in rows) == [Channel.EMAIL, Channel.NTFY]
    assert {(row.developer_id, row.status, row.issue_id) for row in rows} == {(ben.id, NotificationStatus.SENT, None)}

    [mail] = inbox.messages()
    assert mail["To"] == ben.email
    assert mail["Subject"] == "Your on-call shift starts: payments on-call (level 1)"
    body = text_of(mail)
    assert "from Sun 25 Oct 09:00 CET until Mon 26 Oct 09:00 CET" in body
    assert "Next: Ana from Mon 26 Oct 09:00 CET." in body
    [push] = [request.json() for request in receiver.requests]
    assert push["topic"] == "ben-pager" and push["title"] == mail["Subject"]
    assert push["message"].startswith("You are on call for payments on-call (level 1) from Sun 25 Oct 09:00 CET")


def test_an_override_starts_a_shift_and_so_does_the_return_to_the_rotation(
    db_session: Session, settings: Settings, inbox: Inbox, rota: Any
) -> None:
    _, schedule, _, ben = rota
    cleo = make_developer(db_session, "Cleo", timezone="Europe/Berlin")
    add_override(db_session, schedule, cleo.id, at(12), at(14), reason="Ben at the dentist")
    db_session.commit()

    run_at(at(12, 1))
    run_at(at(14, 1))
    assert [(row.developer_id, row.channel) for row in notices(db_session)] == [
        (cleo.id, Channel.EMAIL),
        (ben.id, Channel.EMAIL),  # Cleo has no push topic; Ben has
        (ben.id, Channel.NTFY),
    ]
    first, second = inbox.messages()
    assert first["To"] == cleo.email and "You are covering this shift as an override." in text_of(first)
    assert "until Sun 25 Oct 15:00 CET" in text_of(first) and "Next: Ben from Sun 25 Oct 15:00 CET" in (text_of(first))
    assert second["To"] == ben.email and "until Mon 26 Oct 09:00 CET" in text_of(second)


def test_push_waits_in_quiet_hours_and_e_mail_goes(
    db_session: Session, settings: Settings, receiver: Receiver, inbox: Inbox, rota: Any
) -> None:
    _, _, _, ben = rota
    ben.quiet_hours_start, ben.quiet_hours_end = dt.time(8), dt.time(10)  # Berlin time
    db_session.commit()

    run_at(at(8, 5))
    by_channel = {row.channel: row for row in notices(db_session)}
    assert by_channel[Channel.NTFY].status == NotificationStatus.SUPPRESSED
    assert "quiet hours of Ben" in (by_channel[Channel.NTFY].last_error or "")
    assert by_channel[Channel.EMAIL].status == NotificationStatus.SENT
    assert receiver.requests == [] and len(inbox.messages()) == 1


def test_the_periodic_job_runs_on_the_real_clock(
    db_session: Session, settings: Settings, inbox: Inbox, rota: Any
) -> None:
    _, schedule, _, _ = rota
    cleo = make_developer(db_session, "Cleo")
    add_override(db_session, schedule, cleo.id, utcnow() - dt.timedelta(minutes=1), utcnow() + dt.timedelta(hours=1))
    db_session.commit()

    send_shift_notices.call_local()
    send_shift_notices.call_local()
    assert [row.channel for row in notices(db_session) if row.developer_id == cleo.id] == [Channel.EMAIL]
    assert [mail["To"] for mail in inbox.messages()].count(cleo.email) == 1
