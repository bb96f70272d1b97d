"""Every minute: heartbeat monitors whose check-in is overdue become missed, raise their error and page."""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab
from sqlalchemy.orm import Session

from db.heartbeats import HeartbeatAlert, mark_missed
from db.types import utcnow
from tasks.alerts import alert_issue
from tasks.queue import huey, runtime

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("check-heartbeats", ttl=300)
def check_heartbeats() -> None:
    """The miss check, committed before the alerts are enqueued (an alert never names an uncommitted error)."""
    with runtime.session() as session:
        alerts = find_missed(session, utcnow())
    page(alerts)


def find_missed(session: Session, now: dt.datetime) -> list[HeartbeatAlert]:
    """Mark the overdue monitors missed and commit; the alerts due for them, to enqueue afterwards."""
    alerts = mark_missed(session, now)
    session.commit()
    if alerts:
        log.info("%d heartbeat(s) missed their check-in", len(alerts))
    return alerts


def page(alerts: list[HeartbeatAlert]) -> None:
    for alert in alerts:
        alert_issue(alert.issue_id, alert.trigger, alert.event_id)
