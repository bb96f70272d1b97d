"""The daily summary: per project, the last 24 hours' new, regressed and resolved errors, the top ones, the
low-severity ones nobody was paged for, MTTA and MTTR; by e-mail to the developers who opted in (at
ERRLOG_DAILY_SUMMARY_HOUR in their time zone) and to the team's Slack channel (at that hour UTC)."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

from huey import crontab
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.daily_summary import ErrorLine, ProjectDay, daily_report
from db.enums import Channel
from db.models import Developer, Notification
from db.types import utcnow
from errlog.settings import Settings
from tasks.alerts import insert_new
from tasks.channels import configured_channels
from tasks.deliver import deliver_notification
from tasks.notices import Notice, Section, notice_row, pending_ids
from tasks.queue import huey, runtime

log = logging.getLogger(__name__)
KIND = "daily_summary"
# The channel_preferences key a developer opts in with: {"daily_summary": ["email"]}.
PREFERENCE = "daily_summary"
DAY = dt.timedelta(days=1)


# Every quarter of an hour, so a worker that was down at the full hour still sends the day's summary late rather
# than never; the idempotency key (recipient and local date) keeps it to one a day.
@huey.periodic_task(crontab(minute="*/15"))
@huey.lock_task("daily-summary", ttl=1800)
def send_daily_summaries() -> None:
    with runtime.session() as session:
        due = record_daily_summaries(session, runtime.settings, utcnow())
    for notification_id in due:
        deliver_notification(notification_id)


def subscribers(session: Session) -> list[Developer]:
    """Active developers with an e-mail address who asked for the summary by e-mail."""
    developers = session.scalars(select(Developer).where(Developer.is_active.is_(True)).order_by(Developer.id))
    return [d for d in developers if d.email and "email" in ((d.channel_preferences or {}).get(PREFERENCE) or [])]


def local_now(timezone: str, now: dt.datetime) -> dt.datetime:
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        zone = zoneinfo.ZoneInfo("UTC")  # validated on input; a bad zone must not stop everybody's summary
    return now.astimezone(zone)


def record_daily_summaries(session: Session, settings: Settings, now: dt.datetime) -> list[int]:
    """Record the summaries due at `now`: for each recipient whose local hour is the summary hour (or past it,
    the same day) and who has none for that local date yet. The ids of the notifications to send."""
    configured = configured_channels(settings)
    due: list[tuple[Channel, str, int | None, dt.date]] = []
    if Channel.EMAIL in configured:
        for developer in subscribers(session):
            local = local_now(developer.timezone or "UTC", now)
            if local.hour >= settings.daily_summary_hour:
                due.append((Channel.EMAIL, developer.email, developer.id, local.date()))
    if Channel.SLACK in configured and now.astimezone(dt.UTC).hour >= settings.daily_summary_hour:
        due.append((Channel.SLACK, "channel", None, now.astimezone(dt.UTC).date()))
    rows = [
        (channel, target, developer_id, day, _key(day, channel, developer_id))
        for channel, target, developer_id, day in due
    ]
    fresh = _not_recorded(session, [key for *_, key in rows])
    if not fresh:
        return []
    notice = summary_message(daily_report(session, now - DAY, now), now)
    insert_new(
        session,
        [
            notice_row(
                key=key,
                channel=channel,
                target=target,
                notice=notice,
                max_attempts=settings.notification_max_attempts,
                now=now,
                developer_id=developer_id,
            )
            for channel, target, developer_id, _, key in rows
            if key in fresh
        ],
    )
    return pending_ids(session, sorted(fresh))


def _key(day: dt.date, channel: Channel, developer_id: int | None) -> str:
    return f"daily:{day.isoformat()}:{channel.value}:{developer_id if developer_id is not None else 'team'}"


def _not_recorded(session: Session, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    taken = set(session.scalars(select(Notification.idempotency_key).where(Notification.idempotency_key.in_(keys))))
    return set(keys) - taken


def summary_message(report: list[ProjectDay], now: dt.datetime) -> Notice:
    active = [day for day in report if not day.quiet]
    new = sum(day.new_count for day in report)
    regressed = sum(day.regressed_count for day in report)
    resolved = sum(day.resolved_count for day in report)
    subject = (
        f"[errlog] Daily summary {now.astimezone(dt.UTC):%Y-%m-%d}: "
        f"{new} new, {regressed} regressed, {resolved} resolved"
    )
    intro = [
        f"The 24 hours to {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC, over {len(report)} project(s): "
        f"{new} new, {regressed} regressed and {resolved} resolved error(s)."
    ]
    if not active:
        intro.append("All quiet: no project had new, regressed, resolved or busy errors.")
    sections: list[Section] = []
    for day in active:
        sections += project_sections(day)
    return Notice(KIND, subject, intro, sections)


def project_sections(day: ProjectDay) -> list[Section]:
    times = (
        f"MTTA {_duration(day.mtta_seconds)} over {day.acknowledged} acknowledged, "
        f"MTTR {_duration(day.mttr_seconds)} over {day.resolved_in_day} resolved"
    )
    return [
        Section(
            f"{day.project}: {times}",
            [f"{day.new_count} new, {day.regressed_count} regressed, {day.resolved_count} resolved"],
        ),
        Section(f"{day.project}: new errors ({day.new_count})", _lines(day.new, day.new_count)),
        Section(f"{day.project}: regressed ({day.regressed_count})", _lines(day.regressed, day.regressed_count)),
        Section(f"{day.project}: resolved ({day.resolved_count})", _lines(day.resolved, day.resolved_count)),
        Section(f"{day.project}: top errors (events in the 24 h)", _lines(day.top, len(day.top), "{} events")),
        Section(
            f"{day.project}: low severity, in this summary only ({day.low_count})",
            _lines(day.low, day.low_count),
        ),
    ]


def _lines(errors: list[ErrorLine], total: int, counted: str = "seen {} times in all") -> list[str]:
    lines = [f"#{e.issue_id} [{e.severity.upper()}] {e.title} ({counted.format(e.events)})" for e in errors]
    if total > len(errors):
        lines.append(f"... and {total - len(errors)} more")
    return lines


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
