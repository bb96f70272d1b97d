"""Heartbeat monitors: creating them, recording check-ins, and turning a miss or a failed run into a critical error.

Used by the collector (check-ins), the REST API and CLI (monitors) and the tasks (the every-minute miss check). The
error a monitor raises is an ordinary issue with a stable fingerprint per monitor, so it shows in the queue, pages
through the normal alert path once (trigger new, or regression when an earlier one was resolved), and is resolved
by the next good check-in."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db import issue_state
from db.enums import Severity
from db.models import Comment, Event, Heartbeat, Issue
from db.rollups import Counted, count_events

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
# Sentry's check-in statuses; errlog also takes them from its HTTP check-in URL.
STATUSES = ("in_progress", "ok", "error")
MAX_MINUTES = 60 * 24 * 366
FINGERPRINT_PREFIX = "heartbeat:"
AUTHOR = "heartbeat"


class HeartbeatError(ValueError):
    """A monitor or check-in that cannot be taken as asked; the message names the problem."""


@dataclass(frozen=True, slots=True)
class HeartbeatAlert:
    """An alert the caller enqueues after its commit (the same triple the collector's alerts carry)."""

    issue_id: int
    trigger: str
    event_id: str


def check_slug(slug: str) -> str:
    if not SLUG.match(slug):
        raise HeartbeatError(
            f"invalid slug {slug!r}: use 1-100 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )
    return slug


def check_minutes(name: str, value: int, *, minimum: int) -> int:
    if not minimum <= value <= MAX_MINUTES:
        raise HeartbeatError(f"{name} must be between {minimum} and {MAX_MINUTES} minutes, not {value}")
    return value


def due_after(heartbeat: Heartbeat, at: dt.datetime) -> dt.datetime:
    """When a monitor that checked in (or was created) at `at` is late."""
    return at + dt.timedelta(minutes=heartbeat.interval_minutes + heartbeat.grace_minutes)


def create_heartbeat(
    session: Session,
    project_id: int,
    slug: str,
    *,
    interval_minutes: int,
    grace_minutes: int = 5,
    name: str = "",
    now: dt.datetime,
) -> Heartbeat:
    check_slug(slug)
    check_minutes("interval", interval_minutes, minimum=1)
    check_minutes("grace", grace_minutes, minimum=0)
    if find_heartbeat(session, project_id, slug) is not None:
        raise HeartbeatError(f"this project already has a heartbeat {slug!r}")
    heartbeat = Heartbeat(
        project_id=project_id,
        slug=slug,
        name=name,
        interval_minutes=interval_minutes,
        grace_minutes=grace_minutes,
        state="waiting",
        is_active=True,
        created_at=now,
    )
    # The first check-in is due one interval (plus grace) after creation, so a job that never runs is noticed.
    heartbeat.next_due_at = due_after(heartbeat, now)
    session.add(heartbeat)
    session.flush()
    return heartbeat


def find_heartbeat(session: Session, project_id: int, slug: str, *, lock: bool = False) -> Heartbeat | None:
    query = select(Heartbeat).where(Heartbeat.project_id == project_id, Heartbeat.slug == slug)
    if lock:
        # A check-in and the miss check may race on one monitor: one waits for the other.
        query = query.with_for_update()
    return session.scalar(query)


def record_check_in(
    session: Session, heartbeat: Heartbeat, status: str, *, now: dt.datetime, duration: float | None = None
) -> HeartbeatAlert | None:
    """Take one check-in. `ok` clears a miss or failure (resolving its error), `error` raises one, `in_progress`
    says the job started on time. Returns the alert to enqueue after the commit, if one is due."""
    if status not in STATUSES:
        raise HeartbeatError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    heartbeat.last_check_in_at = now
    heartbeat.last_status = status
    heartbeat.next_due_at = due_after(heartbeat, now)
    if not heartbeat.is_active or status == "in_progress":
        return None
    if status == "ok":
        _recover(session, heartbeat, now)
        heartbeat.state = "ok"
        return None
    heartbeat.state = "failing"
    took = f" after {duration:g} s" if duration is not None else ""
    return _raise_error(session, heartbeat, f"Heartbeat {heartbeat.slug} reported a failed run{took}", now)


def mark_missed(session: Session, now: dt.datetime) -> list[HeartbeatAlert]:
    """Every active monitor whose next check-in is overdue becomes missed and raises its error, once per miss (a
    missed monitor is not looked at again until it checks in)."""
    overdue = session.scalars(
        select(Heartbeat)
        .where(Heartbeat.is_active.is_(True), Heartbeat.next_due_at <= now, Heartbeat.state != "missed")
        .order_by(Heartbeat.id)
        .with_for_update(skip_locked=True)
    ).all()
    alerts = []
    for heartbeat in overdue:
        heartbeat.state = "missed"
        assert heartbeat.next_due_at is not None
        late = f"{heartbeat.next_due_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        alert = _raise_error(session, heartbeat, f"Heartbeat {heartbeat.slug} missed its check-in (due by {late})", now)
        if alert is not None:
            alerts.append(alert)
    return alerts


def fingerprint_of(heartbeat: Heartbeat) -> str:
    return f"{FINGERPRINT_PREFIX}{heartbeat.slug}"


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _raise_error(session: Session, heartbeat: Heartbeat, message: str, now: dt.datetime) -> HeartbeatAlert | None:
    """Store one critical event on the monitor's issue (creating it the first time) and say which alert is due: new
    for a first error, regression when the last one was resolved, nothing while it is still open (already paged)."""
    row = {
        "project_id": heartbeat.project_id,
        "fingerprint": fingerprint_of(heartbeat),
        "grouping_version": 1,
        "title": f"Heartbeat {heartbeat.slug} is failing",
        "culprit": heartbeat.name or heartbeat.slug,
        "platform": "other",
        "level": "fatal",
        "severity": Severity.CRITICAL.value,
        "first_seen": now,
        "last_seen": now,
        **issue_state.NEW_ISSUE,
        "created_at": now,
        "updated_at": now,
    }
    created = session.execute(
        _insert(session)(Issue.__table__)
        .on_conflict_do_nothing(index_elements=["project_id", "fingerprint"])
        .returning(Issue.__table__.c.id),
        [row],
    ).first()
    issue = session.scalars(
        select(Issue)
        .where(Issue.project_id == heartbeat.project_id, Issue.fingerprint == row["fingerprint"])
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    event_id = uuid.uuid4().hex
    session.add(
        Event(
            project_id=heartbeat.project_id,
            issue_id=issue.id,
            event_id=event_id,
            timestamp=now,
            received_at=now,
            level="fatal",
            severity=Severity.CRITICAL,
            platform="other",
            message=message,
            tags={"monitor.slug": heartbeat.slug},
            payload={
                "event_id": event_id,
                "level": "fatal",
                "platform": "other",
                "message": message,
                "tags": {"monitor.slug": heartbeat.slug},
                "contexts": {"monitor": {"slug": heartbeat.slug, "state": heartbeat.state}},
            },
            source="heartbeat",
            size_bytes=0,
        )
    )
    count_events(session, [Counted(issue.id, heartbeat.project_id, Severity.CRITICAL.value, now)])
    occurrences = issue_state.Occurrences(
        count=1, new_users=0, first_seen=now, last_seen=now, severity=Severity.CRITICAL
    )
    transitions = issue_state.record_occurrences(issue, occurrences, is_new=created is not None)
    issue.updated_at = now
    heartbeat.issue_id = issue.id
    session.flush()
    for trigger in (issue_state.Transition.NEW, issue_state.Transition.REGRESSED, issue_state.Transition.SNOOZE_ENDED):
        if trigger in transitions:
            return HeartbeatAlert(issue.id, trigger.value, event_id)
    return None


def _recover(session: Session, heartbeat: Heartbeat, now: dt.datetime) -> None:
    """A good run after a miss or failure: resolve the monitor's open error, with a note saying why."""
    if heartbeat.issue_id is None:
        return
    issue = session.get(Issue, heartbeat.issue_id, with_for_update=True)
    heartbeat.issue_id = None
    if issue is None or issue.status not in issue_state.OPEN_STATUSES:
        return  # someone already resolved or ignored it: leave their decision alone
    issue_state.resolve(issue, now=now)
    issue.updated_at = now
    session.add(
        Comment(
            issue_id=issue.id,
            author=AUTHOR,
            body=f"Resolved automatically: heartbeat {heartbeat.slug} checked in ok "
            f"at {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC",
            created_at=now,
        )
    )


def check_in_path(heartbeat: Heartbeat, public_key: str) -> str:
    """The HTTP check-in path, Sentry's shape: prefix it with the collector's public URL."""
    return f"/api/{heartbeat.project_id}/cron/{heartbeat.slug}/{public_key}/"


def snapshot(heartbeat: Heartbeat) -> dict[str, Any]:
    """What the audit log keeps of a monitor's settings."""
    keys = ("project_id", "slug", "name", "interval_minutes", "grace_minutes", "is_active")
    return {key: getattr(heartbeat, key) for key in keys}
