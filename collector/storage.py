"""Stores a batch of prepared events in one transaction: issues upserted, duplicates skipped, counts folded in.

The contract and what both databases share are here; the steps themselves in collector/storage_sqlite.py (fixed
SQL text on the sqlite3 connection) and collector/storage_postgres.py (two round trips).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.pipeline import PreparedEvent
from db.enums import IssueStatus, IssueSubstatus, Severity
from db.issue_state import INGEST_WRITES, Occurrences, Transition, record_occurrences
from db.models import Issue

if TYPE_CHECKING:
    from collector.archive import EventArchive


@dataclass(slots=True)
class StoreOutcome:
    project_id: int
    event_id: str
    issue_id: int
    stored: bool  # False: this event_id was already stored (an SDK retry), nothing counted
    times_seen: int  # the issue's events once the batch was committed: what the alert checks bound counts by
    transitions: set[Transition] = field(default_factory=set)


@dataclass(slots=True)
class LockedIssue:
    """An issue's row as the batch found it, locked; `record_occurrences` changes it and `_write_issues` writes the
    changes back, for all the batch's issues in one statement (the ORM would load, track and flush each)."""

    id: int
    project_id: int
    fingerprint: str
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


LOCKED_COLUMNS = tuple(f.name for f in fields(LockedIssue))
WRITTEN_COLUMNS = (*INGEST_WRITES, "updated_at")
_SEVERITY_RANK = {s.value: s.rank for s in Severity}


def store_batch(
    session: Session,
    items: list[PreparedEvent],
    *,
    now: dt.datetime,
    archive: EventArchive | None = None,
    commit: bool = False,
) -> list[StoreOutcome]:
    """Store `items` in the session's transaction (the caller commits). Returns one outcome per item, in order.

    With an `archive`, payloads go there instead of the events table, written before this returns, so before the
    commit: a committed event always has its payload. The archive errors (ArchiveError) propagate.

    `commit`: the caller commits right after this returns, so on PostgreSQL without an archive the COMMIT may go in
    the batch's last round trip; the caller's `session.commit()` then finds nothing left to send.
    """
    _file_under_previous_fingerprints(session, items)
    if session.get_bind().dialect.name == "postgresql":
        from collector.storage_postgres import store_batch_postgres  # psycopg's pipeline: PostgreSQL only

        return store_batch_postgres(session, items, now=now, archive=archive, commit=commit)

    from collector.storage_sqlite import store_batch_sqlite

    return store_batch_sqlite(session, items, now=now, archive=archive)


def _file_under_previous_fingerprints(session: Session, items: list[PreparedEvent]) -> None:
    """The transition after a project moved grouping: an event whose fingerprint names no issue yet, but whose
    fingerprint under the previous version does, is filed under that one, so the move neither splits the project's
    issues nor pages for each anew. One query, and only for batches holding such events."""
    moving = [item for item in items if item.previous_fingerprint is not None]
    if not moving:
        return
    wanted = {fp for item in moving for fp in (item.fingerprint, item.previous_fingerprint)}
    query = select(Issue.project_id, Issue.fingerprint).where(
        Issue.project_id.in_({item.project_id for item in moving}), Issue.fingerprint.in_(wanted)
    )
    found = {(project_id, fingerprint) for project_id, fingerprint in session.execute(query)}
    for item in moving:
        previous = item.previous_fingerprint
        if previous and (item.project_id, item.fingerprint) not in found and (item.project_id, previous) in found:
            item.fingerprint, item.previous_fingerprint = previous, None


def first_by_issue_key(items: list[PreparedEvent]) -> dict[tuple[int, str], PreparedEvent]:
    """The first event of each (project, fingerprint) in the batch: what a new issue is made from."""
    first: dict[tuple[int, str], PreparedEvent] = {}
    for item in items:
        first.setdefault((item.project_id, item.fingerprint), item)
    return first


def unique_events(items: list[PreparedEvent]) -> dict[tuple[int, str], PreparedEvent]:
    """The batch's events by (project, event_id): an event_id repeated within the batch is a retry, stored once."""
    unique: dict[tuple[int, str], PreparedEvent] = {}
    for item in items:
        unique.setdefault((item.project_id, item.event_id), item)
    return unique


def record_batch(
    issues: list[LockedIssue],
    stored_by_issue: dict[int, list[PreparedEvent]],
    new_users: dict[int, int],
    new_issue_ids: set[int],
) -> tuple[dict[int, set[Transition]], list[LockedIssue]]:
    """Fold each locked issue's newly stored events into it (db.issue_state decides what changes); returns the
    transitions per issue id and the issues that changed."""
    transitions: dict[int, set[Transition]] = {}
    changed = []
    for issue in issues:
        stored = stored_by_issue.get(issue.id)
        if not stored:
            continue
        latest = max(stored, key=lambda i: i.timestamp)
        occurrences = Occurrences(
            count=len(stored),
            new_users=new_users.get(issue.id, 0),
            first_seen=min(i.timestamp for i in stored),
            last_seen=latest.timestamp,
            severity=Severity(min((i.severity for i in stored), key=_SEVERITY_RANK.__getitem__)),
            release=latest.release,
            environment=latest.environment,
        )
        transitions[issue.id] = record_occurrences(issue, occurrences, is_new=issue.id in new_issue_ids)
        changed.append(issue)
    return transitions, changed


def batch_outcomes(
    items: list[PreparedEvent],
    unique: dict[tuple[int, str], PreparedEvent],
    inserted: set[tuple[int, str]],
    issue_ids: dict[tuple[int, str], int],
    transitions: dict[int, set[Transition]],
    issues: list[LockedIssue],
) -> list[StoreOutcome]:
    """One outcome per item, in order; an issue's transitions go with the first of its stored events."""
    times_seen = {issue.id: issue.times_seen for issue in issues}
    outcomes = []
    for item in items:
        key = (item.project_id, item.event_id)
        issue_id = issue_ids[(item.project_id, item.fingerprint)]
        first = unique[key] is item and key in inserted
        outcomes.append(
            StoreOutcome(
                project_id=item.project_id,
                event_id=item.event_id,
                issue_id=issue_id,
                stored=first,
                transitions=transitions.pop(issue_id, set()) if first else set(),
                times_seen=times_seen[issue_id],
            )
        )
    return outcomes


def issue_write_row(issue: LockedIssue, now: dt.datetime) -> dict[str, Any]:
    """The columns ingest writes back to an issue's row, by name."""
    return {"id": issue.id, "updated_at": now, **{name: getattr(issue, name) for name in INGEST_WRITES}}
