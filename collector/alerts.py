"""Decides, after each commit, which issues deserve an alert, and enqueues one task per alert (ids only).

Runs in the writer thread after the commit, so an alert is never sent for an event that was not stored,
and the event loop never waits for it. Delivery itself is the tasks' job (tasks/alerts.py)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from collector.storage import StoreOutcome
from db.enums import IssueStatus
from db.models import Event, Issue, Project

log = logging.getLogger(__name__)

THRESHOLD_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class AlertDue:
    issue_id: int
    # new, regression, severity, snooze_ended, threshold, escalation; or an incident update: acknowledged, resolved
    trigger: str
    event_id: str  # the event that caused it: makes the alert idempotent


Enqueue = Callable[[AlertDue], None]


# Not pages: PagerDuty's incident follows the error's state (tasks/incidents.py).
INCIDENT_UPDATES = frozenset({"acknowledged", "resolved"})


def enqueue_with_huey(alert: AlertDue) -> None:
    # The tasks layer, loaded only by processes that enqueue.
    if alert.trigger in INCIDENT_UPDATES:
        from tasks.incidents import update_incident

        update_incident(alert.issue_id, alert.trigger, alert.event_id)
        return
    from tasks.alerts import alert_issue

    alert_issue(alert.issue_id, alert.trigger, alert.event_id)


class AlertDecider:
    """Turns store outcomes into due alerts: state transitions, plus per-project thresholds
    (N events of one issue within M minutes, alerted once when the count crosses N)."""

    def __init__(self, session_factory: sessionmaker[Session], enqueue: Enqueue = enqueue_with_huey) -> None:
        self._sessions = session_factory
        self._enqueue = enqueue
        self._thresholds: dict[int, tuple[int, int]] = {}
        self._thresholds_loaded = 0.0

    def __call__(self, outcomes: list[StoreOutcome]) -> None:
        for alert in self.decide(outcomes):
            try:
                self._enqueue(alert)
            except Exception:  # a queue outage must not undo ingest; the event is stored either way
                log.exception("could not enqueue %s alert for issue %s", alert.trigger, alert.issue_id)

    def decide(self, outcomes: list[StoreOutcome]) -> list[AlertDue]:
        alerts = [
            AlertDue(o.issue_id, str(transition), o.event_id)
            for o in outcomes
            if o.stored
            for transition in sorted(o.transitions)
        ]
        stored = [o for o in outcomes if o.stored]
        if stored and self._project_thresholds():
            alerts.extend(self._threshold_alerts(stored))
        return alerts

    def _project_thresholds(self) -> dict[int, tuple[int, int]]:
        if time.monotonic() - self._thresholds_loaded > THRESHOLD_CACHE_SECONDS:
            with self._sessions() as session:
                rows = session.execute(
                    select(Project.id, Project.alert_threshold_events, Project.alert_threshold_minutes).where(
                        Project.alert_threshold_events.is_not(None), Project.alert_threshold_minutes.is_not(None)
                    )
                ).all()
            self._thresholds = {row.id: (row.alert_threshold_events, row.alert_threshold_minutes) for row in rows}
            self._thresholds_loaded = time.monotonic()
        return self._thresholds

    def _threshold_alerts(self, stored: list[StoreOutcome]) -> list[AlertDue]:
        thresholds = self._thresholds
        added = Counter(o.issue_id for o in stored if o.project_id in thresholds)
        if not added:
            return []
        last_event = {o.issue_id: o.event_id for o in stored}
        project_of = {o.issue_id: o.project_id for o in stored}
        now = dt.datetime.now(dt.UTC)
        alerts = []
        with self._sessions() as session:
            for issue_id, count_added in added.items():
                limit, minutes = thresholds[project_of[issue_id]]
                status = session.scalar(select(Issue.status).where(Issue.id == issue_id))
                if status == IssueStatus.IGNORED:
                    continue
                in_window = (
                    session.scalar(
                        select(func.count())
                        .select_from(Event)
                        .where(Event.issue_id == issue_id, Event.received_at >= now - dt.timedelta(minutes=minutes))
                    )
                    or 0
                )
                # Alert once, when this batch carried the count over the limit.
                if in_window >= limit > in_window - count_added:
                    alerts.append(AlertDue(issue_id, "threshold", last_event[issue_id]))
        return alerts
