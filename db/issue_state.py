"""The one place issue states change: on ingest, and by people through the API, the TUI and the tasks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from db.enums import IssueStatus, IssueSubstatus, Severity
from db.models import Issue
from db.releases import is_older

OPEN_STATUSES = (IssueStatus.UNRESOLVED, IssueStatus.ACKNOWLEDGED)

# What an issue's row starts as, besides what its first event gives (key, title, times, release, ...): every place
# that creates issues by insert (ingest on SQLite and PostgreSQL, heartbeats) starts them so. No events counted yet:
# record_occurrences then folds in the first ones.
NEW_ISSUE: dict[str, object] = {
    "status": IssueStatus.UNRESOLVED.value,
    "substatus": IssueSubstatus.NEW.value,
    "times_seen": 0,
    "users_affected": 0,
    "resolved_in_next_release": False,
    "is_regression": False,
    "escalation_level": 0,
    "impact_score": 0.0,
}


class Transition(StrEnum):
    """What happened to an issue that may be worth telling someone about."""

    NEW = "new"
    REGRESSED = "regression"
    SEVERITY_ESCALATED = "severity"
    SNOOZE_ENDED = "snooze_ended"


class StateError(ValueError):
    """A change that does not apply to the issue as it is (e.g. acknowledging a resolved issue)."""


class Occurring(Protocol):
    """What `record_occurrences` reads and writes of an issue: a model instance, or the ingest writer's own copy of
    the row (collector/storage.py), which writes the `INGEST_WRITES` columns back in one statement per batch."""

    times_seen: int
    users_affected: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    last_environment: str | None
    last_release: str | None
    first_release: str | None
    severity: Severity
    status: IssueStatus
    substatus: IssueSubstatus | None
    resolved_at: dt.datetime | None
    resolved_in_release: str | None
    resolved_in_next_release: bool
    is_regression: bool
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    snooze_until: dt.datetime | None
    snooze_event_limit: int | None
    snooze_user_limit: int | None
    snooze_events_at_start: int | None
    snooze_users_at_start: int | None


# The columns `record_occurrences` may change: what the ingest writer reads, locked, and writes back.
INGEST_WRITES: tuple[str, ...] = tuple(Occurring.__annotations__)


@dataclass(frozen=True)
class Occurrences:
    """New events of one issue stored in one batch."""

    count: int
    new_users: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    severity: Severity
    release: str | None = None
    environment: str | None = None


def record_occurrences(issue: Occurring, occ: Occurrences, *, is_new: bool) -> set[Transition]:
    """Fold newly stored events into the issue: counts, seen times, releases, and the state changes they cause."""
    transitions: set[Transition] = {Transition.NEW} if is_new else set()
    issue.times_seen = (issue.times_seen or 0) + occ.count
    issue.users_affected = (issue.users_affected or 0) + occ.new_users
    if issue.first_seen is None or occ.first_seen < issue.first_seen:
        issue.first_seen = occ.first_seen
    if issue.last_seen is None or occ.last_seen > issue.last_seen:
        issue.last_seen = occ.last_seen
        issue.last_environment = occ.environment or issue.last_environment
        issue.last_release = occ.release or issue.last_release
    if occ.release and not issue.first_release:
        issue.first_release = occ.release
    if not is_new and Severity(occ.severity).rank < Severity(issue.severity).rank:
        issue.severity = occ.severity
        transitions.add(Transition.SEVERITY_ESCALATED)

    if issue.status == IssueStatus.RESOLVED and _reopens_resolved(issue, occ.release):
        _reopen(issue, IssueSubstatus.REGRESSED)
        issue.is_regression = True
        transitions.add(Transition.REGRESSED)
    elif issue.status == IssueStatus.IGNORED and _snooze_over(issue, occ.last_seen):
        _reopen(issue, IssueSubstatus.ESCALATING)
        transitions.add(Transition.SNOOZE_ENDED)
    elif not is_new and issue.substatus == IssueSubstatus.NEW and issue.status in OPEN_STATUSES:
        issue.substatus = IssueSubstatus.ONGOING
    if issue.status == IssueStatus.IGNORED:
        # Ignored issues count their events but stay quiet.
        transitions.discard(Transition.SEVERITY_ESCALATED)
    return transitions


def _reopens_resolved(issue: Occurring, release: str | None) -> bool:
    if issue.resolved_in_next_release:
        # Resolved "in the next release": only an event from another, not older, release proves it came back.
        current = issue.resolved_in_release
        if release is None or current is None:
            return release is not None and current is None
        return release != current and not is_older(release, current)
    if issue.resolved_in_release and release:
        # Resolved in release X: events from older releases are the old bug still deployed somewhere.
        return not is_older(release, issue.resolved_in_release)
    return True


def _snooze_over(issue: Occurring, now: dt.datetime) -> bool:
    if issue.snooze_until is not None and now >= issue.snooze_until:
        return True
    events_since = issue.times_seen - (issue.snooze_events_at_start or 0)
    users_since = issue.users_affected - (issue.snooze_users_at_start or 0)
    return (issue.snooze_event_limit is not None and events_since >= issue.snooze_event_limit) or (
        issue.snooze_user_limit is not None and users_since >= issue.snooze_user_limit
    )


def _clear_snooze(issue: Occurring) -> None:
    issue.snooze_until = None
    issue.snooze_event_limit = None
    issue.snooze_user_limit = None
    issue.snooze_events_at_start = None
    issue.snooze_users_at_start = None


def _reopen(issue: Occurring, substatus: IssueSubstatus) -> None:
    issue.status = IssueStatus.UNRESOLVED
    issue.substatus = substatus
    issue.resolved_at = None
    issue.resolved_in_release = None
    issue.resolved_in_next_release = False
    issue.acknowledged_at = None
    issue.acknowledged_by = None
    _clear_snooze(issue)


def resolve(issue: Issue, *, now: dt.datetime, in_release: str | None = None, in_next_release: bool = False) -> None:
    """Resolve now, in a named release, or in the next release (the issue's latest release is the one it is fixed
    after)."""
    issue.status = IssueStatus.RESOLVED
    issue.substatus = None
    issue.resolved_at = now
    issue.resolved_in_next_release = in_next_release
    issue.resolved_in_release = issue.last_release if in_next_release else in_release
    issue.is_regression = False
    _clear_snooze(issue)


def acknowledge(issue: Issue, *, by: str, now: dt.datetime) -> None:
    if issue.status not in OPEN_STATUSES:
        raise StateError(f"error {issue.id} is {issue.status}: only unresolved errors can be acknowledged")
    issue.status = IssueStatus.ACKNOWLEDGED
    issue.acknowledged_at = issue.acknowledged_at or now
    issue.acknowledged_by = issue.acknowledged_by or by


def assign(issue: Issue, developer_id: int | None, *, now: dt.datetime) -> None:
    issue.assignee_id = developer_id
    issue.assigned_at = now if developer_id is not None else None


def escalated(issue: Issue, *, level: int, to_developer_id: int, now: dt.datetime) -> None:
    """The issue was handed up to `level` and its new owner: marked escalating. An acknowledged issue stays
    acknowledged (someone took it); only its owner and level change."""
    issue.escalation_level = level
    assign(issue, to_developer_id, now=now)
    issue.substatus = IssueSubstatus.ESCALATING
    issue.updated_at = now


def ignore(
    issue: Issue,
    *,
    now: dt.datetime,
    until: dt.datetime | None = None,
    more_events: int | None = None,
    more_users: int | None = None,
) -> None:
    """Ignore forever (no condition), or snooze until a time, N more events or N more users."""
    for name, value in (("more_events", more_events), ("more_users", more_users)):
        if value is not None and value < 1:
            raise StateError(f"{name} must be at least 1")
    if until is not None and until <= now:
        raise StateError("a snooze must end in the future")
    issue.status = IssueStatus.IGNORED
    issue.substatus = None
    issue.snooze_until = until
    issue.snooze_event_limit = more_events
    issue.snooze_user_limit = more_users
    issue.snooze_events_at_start = issue.times_seen if more_events else None
    issue.snooze_users_at_start = issue.users_affected if more_users else None


def reopen(issue: Issue) -> None:
    if issue.status in OPEN_STATUSES:
        raise StateError(f"error {issue.id} is already {issue.status}")
    _reopen(issue, IssueSubstatus.ONGOING)


def expire_snooze(issue: Issue, now: dt.datetime) -> bool:
    """Wake an issue whose snooze time has passed (run periodically); True when it woke."""
    if issue.status == IssueStatus.IGNORED and issue.snooze_until is not None and now >= issue.snooze_until:
        _reopen(issue, IssueSubstatus.ESCALATING)
        return True
    return False
