"""Tells each developer when their on-call shift starts: which schedule and level, until when, and who is next.

Every five minutes the job looks at the shifts (rotations with overrides cut in, DST-safe as db/oncall.py reads
them) that began within the last LOOKBACK, and sends each new shift's developer one notice on their e-mail and
push channels. The idempotency key names the developer, schedule, level and shift start, so the overlapping
look-backs of successive runs, and two workers, send it once."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import Any

from huey import crontab
from sqlalchemy.orm import Session

from db.enums import Channel
from db.models import Developer, OncallSchedule
from db.oncall import Shift, all_schedules, next_handoff, on_call_at, shifts_between
from db.types import utcnow
from errlog.settings import Settings
from tasks.alerts import insert_new, recipient_from
from tasks.channels import configured_channels
from tasks.deliver import deliver_notification
from tasks.notices import Notice, notice_row, pending_ids
from tasks.queue import huey, runtime
from tasks.routing import Recipient, in_quiet_hours

log = logging.getLogger(__name__)

TRIGGER = "oncall_shift"
# Longer than the job's period, so a run that is late or skipped once loses no notice; a notice later than this
# about a shift already under way is not worth sending.
LOOKBACK = dt.timedelta(minutes=30)
# Where a developer is told: their e-mail and their phone. Push during quiet hours waits, visible and unsent;
# e-mail goes anyway (it waits in the inbox on its own).
PUSH = (Channel.NTFY, Channel.PUSHOVER)
CHANNELS = (Channel.EMAIL, *PUSH)


@huey.periodic_task(crontab(minute="*/5"))
@huey.lock_task("shift-notices", ttl=300)
def send_shift_notices() -> None:
    """Every five minutes: a notice to each developer whose on-call shift began since the last runs."""
    with runtime.session() as session:
        due = record_shift_notices(session, runtime.settings, utcnow())
    for notification_id in due:
        deliver_notification(notification_id)


def started_shifts(schedule: OncallSchedule, since: dt.datetime, now: dt.datetime) -> list[Shift]:
    """The shifts of `schedule`, any level, that began in (since, now]. A stretch that only continues the same
    developer's time on call (their shift resumed after an override they took themselves) is not a new shift."""
    levels = sorted({r.level for r in schedule.rotations} | {o.level for o in schedule.overrides})
    started = []
    for level in levels:
        for shift in shifts_between(schedule, since, now, level):
            if not since < shift.starts_at <= now:
                continue
            before = on_call_at(schedule, shift.starts_at - dt.timedelta(microseconds=1), level)
            if before is None or before.developer_id != shift.developer_id:
                started.append(shift)
    return started


def record_shift_notices(session: Session, settings: Settings, now: dt.datetime) -> list[int]:
    """Create the notices of shifts that began within LOOKBACK of `now` (those already there are left alone);
    the ids of those to send."""
    configured = configured_channels(settings)
    rows: list[dict[str, Any]] = []
    for schedule in all_schedules(session):
        for shift in started_shifts(schedule, now - LOOKBACK, now):
            developer = session.get(Developer, shift.developer_id)
            if developer is None or not developer.is_active:
                continue
            recipient = recipient_from(developer, "on-call")
            notice = shift_notice(session, schedule, shift, recipient)
            rows += notice_rows(schedule, shift, recipient, notice, configured, settings, now)
    if not rows:
        return []
    insert_new(session, rows)
    return pending_ids(session, [row["idempotency_key"] for row in rows])


def shift_notice(session: Session, schedule: OncallSchedule, shift: Shift, recipient: Recipient) -> Notice:
    """E.g. "You are on call for payments (level 1) from Sun 25 Oct 09:00 until Mon 26 Oct 09:00 CET. Next: Sam"."""
    zone = _zone(recipient.timezone)
    level = f"{schedule.name} (level {shift.level})"
    following = next_handoff(schedule, shift.starts_at, shift.level)
    after = session.get(Developer, following.developer_id) if following is not None else None
    lines = [
        f"You are on call for {level} from {_local(shift.starts_at, zone)} until {_local(shift.ends_at, zone)}.",
        f"Next: {after.name} from {_local(following.starts_at, zone)}."
        if following is not None and after is not None
        else "Nobody is on call after you yet: hand over in person, or add an override.",
    ]
    if shift.source == "override":
        lines.append("You are covering this shift as an override.")
    lines.append("Your queue: errlog-tui")
    return Notice(TRIGGER, f"Your on-call shift starts: {level}", lines)


def notice_rows(
    schedule: OncallSchedule,
    shift: Shift,
    recipient: Recipient,
    notice: Notice,
    configured: frozenset[Channel],
    settings: Settings,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    quiet = in_quiet_hours(recipient, now)
    rows = []
    for channel in CHANNELS:
        target = recipient.target(channel)
        if channel not in configured or not target:
            continue
        held = f"quiet hours of {recipient.name}" if quiet and channel in PUSH else None
        shift_key = f"{recipient.developer_id}:{schedule.id}:{shift.level}:{int(shift.starts_at.timestamp())}"
        rows.append(
            notice_row(
                key=f"shift:{shift_key}:{channel.value}",
                channel=channel,
                target=target,
                notice=notice,
                max_attempts=settings.notification_max_attempts,
                now=now,
                project_id=schedule.project_id,
                developer_id=recipient.developer_id,
                held=held,
            )
        )
    return rows


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return zoneinfo.ZoneInfo("UTC")


def _local(at: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %d %b %H:%M %Z")
