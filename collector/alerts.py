"""Decides, after each commit, which issues deserve an alert, and enqueues one task per alert (ids only).

Runs in the writer thread after the commit, so an alert is never sent for an event that was not stored,
and the event loop never waits for it. Delivery itself is the tasks' job (tasks/alerts.py)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collector.storage import StoreOutcome
from db.enums import IssueStatus
from db.event_rates import events_in_minute, issue_window_events, minute_of, rate_event_id
from db.models import Project

log = logging.getLogger(__name__)

THRESHOLD_CACHE_SECONDS = 30.0
LAST_COUNTS_KEPT = 100_000  # issues' last window counts remembered; past that they are forgotten (and counted anew)


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
    """Turns store outcomes into due alerts: state transitions, plus per-project thresholds (N events of one issue
    within M minutes, alerted once when the count crosses N; more than Project.max_events_per_minute events in
    the project in one minute, alerted once when the minute's count goes above it)."""

    def __init__(self, session_factory: sessionmaker[Session], enqueue: Enqueue = enqueue_with_huey) -> None:
        self._sessions = session_factory
        self._enqueue = enqueue
        self._thresholds: dict[int, tuple[int, int]] = {}
        self._rate_limits: dict[int, int] = {}
        self._thresholds_loaded = 0.0
        # (project, minute) this process has seen above the project's limit: alerted (once) or past alerting, and
        # not counted again. A batch spanning a minute's start must not make two alerts either.
        self._over_limit: set[tuple[int, dt.datetime]] = set()
        # Issues this process has seen at or over their threshold, and until when they are not counted again.
        self._at_threshold: dict[int, dt.datetime] = {}
        # (issue, window minutes) -> (its events in the window when last counted here, its times_seen then).
        self._last_count: dict[tuple[int, int], tuple[int, int]] = {}

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
        thresholds = self._project_thresholds() if stored else {}
        if thresholds:
            alerts.extend(self._threshold_alerts(stored))
        if stored and self._rate_limits:
            alerts.extend(self._rate_alerts(stored))
        return alerts

    def _project_thresholds(self) -> dict[int, tuple[int, int]]:
        """The issue thresholds; reloads them and the rate limits when the cache is stale."""
        if time.monotonic() - self._thresholds_loaded > THRESHOLD_CACHE_SECONDS:
            with self._sessions() as session:
                rows = session.execute(
                    select(
                        Project.id,
                        Project.alert_threshold_events,
                        Project.alert_threshold_minutes,
                        Project.max_events_per_minute,
                    ).where(
                        (Project.alert_threshold_events.is_not(None) & Project.alert_threshold_minutes.is_not(None))
                        | Project.max_events_per_minute.is_not(None)
                    )
                ).all()
            self._thresholds = {
                row.id: (row.alert_threshold_events, row.alert_threshold_minutes)
                for row in rows
                if row.alert_threshold_events is not None and row.alert_threshold_minutes is not None
            }
            self._rate_limits = {row.id: row.max_events_per_minute for row in rows if row.max_events_per_minute}
            self._thresholds_loaded = time.monotonic()
        return self._thresholds

    def _rate_alerts(self, stored: list[StoreOutcome]) -> list[AlertDue]:
        """One alert when a project's events this minute go above its limit, about the error with the most events
        in the batch. The minute's count is its roll-up row (the writer has just added this batch to it), not read
        again once this process has seen the minute go over."""
        minute = minute_of(dt.datetime.now(dt.UTC))
        self._over_limit = {(p, m) for p, m in self._over_limit if m >= minute}
        watched = {p for p in self._rate_limits if (p, minute) not in self._over_limit}
        added = Counter(o.project_id for o in stored if o.project_id in watched)
        if not added:
            return []
        with self._sessions() as session:
            in_minute = events_in_minute(session, added, minute)
        alerts = []
        for project_id, count_added in added.items():
            limit, count = self._rate_limits[project_id], in_minute.get(project_id, 0)
            if count <= limit:
                continue
            self._over_limit.add((project_id, minute))
            if limit >= count - count_added:  # this batch took it over
                busiest = Counter(o.issue_id for o in stored if o.project_id == project_id).most_common(1)[0][0]
                alerts.append(AlertDue(busiest, "threshold", rate_event_id(project_id, minute)))
        return alerts

    def _threshold_alerts(self, stored: list[StoreOutcome]) -> list[AlertDue]:
        """An alert when a batch carries an issue's events in its window over its project's threshold. Counting a
        busy issue reads up to as many rows as the threshold, so an issue is counted only when it may have reached
        it: its last count here plus every event it got since (its times_seen then and now) bounds the count from
        above. One seen at or over the threshold is not counted again until its window has passed: it cannot cross
        again before dropping under."""
        thresholds = self._thresholds
        now = dt.datetime.now(dt.UTC)
        if self._at_threshold and min(self._at_threshold.values()) <= now:
            self._at_threshold = {i: until for i, until in self._at_threshold.items() if until > now}
        added: Counter[int] = Counter()
        seen: dict[int, StoreOutcome] = {}  # each issue's last outcome: its newest event and times_seen
        for o in stored:
            if o.project_id in thresholds and o.issue_id not in self._at_threshold:
                added[o.issue_id] += 1
                seen[o.issue_id] = o
        by_project: dict[int, set[int]] = defaultdict(set)
        for issue_id, o in seen.items():
            limit, minutes = thresholds[o.project_id]
            last = self._last_count.get((issue_id, minutes))
            if last is None or last[0] + o.times_seen - last[1] >= limit:
                by_project[o.project_id].add(issue_id)
        if not by_project:
            return []
        if len(self._last_count) > LAST_COUNTS_KEPT:
            self._last_count.clear()
        alerts = []
        with self._sessions() as session:
            for project_id, issue_ids in by_project.items():
                limit, minutes = thresholds[project_id]
                # Counted up to limit + added: from there on the count was at the limit before this batch.
                cap = limit + max(added[issue_id] for issue_id in issue_ids)
                found = issue_window_events(session, issue_ids, now - dt.timedelta(minutes=minutes), cap)
                for issue_id, (status, in_window) in found.items():
                    # With the batch's times_seen: events committed since are in the next batch's, and those
                    # the count saw already only make the next bound higher than it need be.
                    self._last_count[(issue_id, minutes)] = (in_window, seen[issue_id].times_seen)
                    if status == IssueStatus.IGNORED or in_window < limit:
                        continue  # an ignored issue stays quiet, whatever its count
                    self._at_threshold[issue_id] = now + dt.timedelta(minutes=minutes)
                    if limit > in_window - added[issue_id]:  # this batch carried it over: alert once
                        alerts.append(AlertDue(issue_id, "threshold", seen[issue_id].event_id))
        return alerts
