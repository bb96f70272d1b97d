"""The analysis's periodic tasks: patterns and impact every five minutes, daily stats every hour (today) and every
night (yesterday, and every error's impact), the events-per-minute check every hour."""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab

from db.types import utcnow
from tasks.alerts import alert_issue
from tasks.analysis.daily_stats import roll_up_day
from tasks.analysis.impact import update_impact_scores
from tasks.analysis.params import AnalysisParams
from tasks.analysis.run import run_analysis
from tasks.analysis.thresholds import rate_alerts_due
from tasks.queue import huey, runtime

log = logging.getLogger(__name__)

# Locks outlive any normal run; a worker killed mid-run frees its lock when the TTL ends.
LOCK_TTL = 15 * 60


@huey.periodic_task(crontab(minute="*/5"))
@huey.lock_task("detect-patterns", ttl=LOCK_TTL)
def detect_patterns() -> None:
    """Every five minutes: detect patterns and update the impact of recently seen errors."""
    with runtime.session() as session:
        result = run_analysis(session, utcnow(), AnalysisParams.from_settings(runtime.settings))
    found = ", ".join(f"{n} {kind}" for kind, n in result.active.items() if n) or "none"
    log.info("patterns: %s active (%d new, %d over)", found, result.patterns.created, result.patterns.deactivated)


@huey.periodic_task(crontab(minute="10"))
@huey.lock_task("daily-stats-today", ttl=LOCK_TTL)
def roll_up_today() -> None:
    """Every hour: today's daily stats so far."""
    with runtime.session() as session:
        roll_up_day(session, utcnow().date())


@huey.periodic_task(crontab(hour="0", minute="20"))
@huey.lock_task("daily-stats-nightly", ttl=LOCK_TTL)
def roll_up_yesterday() -> None:
    """Every night: yesterday's final daily stats, and the impact of every error (severities changed by hand)."""
    now = utcnow()
    with runtime.session() as session:
        roll_up_day(session, (now - dt.timedelta(days=1)).date())
    with runtime.session() as session:
        update_impact_scores(session)


@huey.periodic_task(crontab(minute="0"))
@huey.lock_task("check-event-rates", ttl=LOCK_TTL)
def check_event_rates() -> None:
    """Every hour: alert about projects whose events per minute went above their limit and were not alerted yet."""
    with runtime.session() as session:
        due = rate_alerts_due(session, utcnow())
    for alert in due:
        log.info(
            "project %s: %d events in the minute %s, above its limit of %d",
            alert.project_id, alert.events, f"{alert.minute:%H:%M}", alert.limit,
        )  # fmt: skip
        alert_issue(alert.issue_id, "threshold", alert.event_id)
