"""The hourly events-per-minute check: a project above its limit is alerted about once, through the alert task."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import NotificationStatus
from db.event_rates import rate_event_id
from db.models import Notification
from db.types import utcnow
from errlog.settings import Settings
from tasks.analysis import jobs
from tasks.analysis.thresholds import rate_alerts_due
from tests.db.factories import make_issue, make_project
from tests.tasks.analysis.series import add_events
from tests.tasks.receivers import Receiver

MINUTE = dt.timedelta(minutes=1)


def burst(minute: dt.datetime, n: int) -> list[dt.datetime]:
    return [minute + dt.timedelta(seconds=i * 50 / n) for i in range(n)]


def test_the_busiest_minute_above_the_limit_is_due(db_session: Session) -> None:
    now = dt.datetime(2026, 11, 21, 15, 0, 30, tzinfo=dt.UTC)
    limited = make_project(db_session, name="checkout", max_events_per_minute=10)
    calm = make_project(db_session, name="search", max_events_per_minute=100)
    unlimited = make_project(db_session, name="batch")
    loud, quiet = make_issue(db_session, limited), make_issue(db_session, limited)
    peak = dt.datetime(2026, 11, 21, 14, 21, tzinfo=dt.UTC)
    add_events(db_session, loud, burst(peak, 9))
    add_events(db_session, quiet, burst(peak, 4))
    add_events(db_session, loud, burst(peak + 5 * MINUTE, 11))  # above too, but the lower of the two
    add_events(db_session, quiet, burst(now - 2 * dt.timedelta(hours=1), 50))  # before the hour looked at
    add_events(db_session, make_issue(db_session, calm), burst(peak, 60))
    add_events(db_session, make_issue(db_session, unlimited), burst(peak, 500))

    [alert] = rate_alerts_due(db_session, now)
    assert (alert.project_id, alert.issue_id, alert.minute, alert.events, alert.limit) == (
        limited.id, loud.id, peak, 13, 10,
    )  # fmt: skip
    assert alert.event_id == rate_event_id(limited.id, peak) == f"rate-{limited.id}-202611211421"


def test_the_hourly_job_alerts_once(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/hook")
    project = make_project(db_session, name="checkout", max_events_per_minute=5)
    issue = make_issue(db_session, project, title="RuntimeError: pool exhausted")
    minute = utcnow().replace(second=0, microsecond=0) - 20 * MINUTE
    add_events(db_session, issue, burst(minute, 8))
    db_session.commit()

    jobs.check_event_rates.call_local()
    jobs.check_event_rates.call_local()  # the next hour's run, say: already alerted within the hour

    db_session.expire_all()
    rows = db_session.scalars(select(Notification)).all()
    assert [(row.trigger, row.issue_id, row.status) for row in rows] == [
        ("threshold", issue.id, NotificationStatus.SENT)
    ]
    assert rate_event_id(project.id, minute) in rows[0].idempotency_key
    [request] = receiver.requests
    assert request.json()["trigger"] == "threshold"
