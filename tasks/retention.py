"""The daily retention job: old events, hourly roll-ups and finished notifications deleted in small batches."""

from __future__ import annotations

import logging

from huey import crontab

from db.retention import prune
from db.types import utcnow
from tasks.queue import huey, runtime

log = logging.getLogger(__name__)


# At a quiet time of night (UTC); batches commit one by one, so ingest goes on meanwhile.
@huey.periodic_task(crontab(minute="17", hour="3"))
@huey.lock_task("retention", ttl=6 * 3600)
def prune_old_data() -> None:
    """Once a day: delete events older than ERRLOG_RETENTION_DAYS (errors keep their counts), hourly roll-ups
    older than 35 days, per-minute counts older than 2 days, and finished notifications older than the retention
    period."""
    settings = runtime.settings
    with runtime.session() as session:
        report = prune(session, utcnow(), settings.retention_days)
    log.info(
        "retention: deleted %d event(s) before %s, %d hourly roll-up row(s), %d per-minute count row(s), "
        "%d notification(s)",
        report.events,
        report.events_before.isoformat(),
        report.hourly_rollups,
        report.minute_rollups,
        report.notifications,
    )
