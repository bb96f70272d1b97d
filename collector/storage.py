"""Stores a batch of prepared events in one transaction: issues upserted, duplicates skipped, counts folded in.

SQLite here; PostgreSQL in collector/storage_postgres.py (the same steps in two round trips).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, fields
from functools import lru_cache
from itertools import starmap
from typing import TYPE_CHECKING, Any

from sqlalchemy import Result, Table, bindparam, delete, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from collector.pipeline import PreparedEvent
from db.enums import IssueStatus, IssueSubstatus, Severity
from db.issue_state import INGEST_WRITES, NEW_ISSUE, Occurrences, Transition, record_occurrences
from db.models import Event, Issue, IssueUser
from db.rollups import Counted, count_events

if TYPE_CHECKING:
    from collector.archive import EventArchive


@dataclass(slots=True)
class StoreOutcome:
    project_id: int
    event_id: str
    issue_id: int
    stored: bool  # False: this event_id was already stored (an SDK retry), nothing counted
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


def _insert_rows(
    session: Session, table: Any, rows: list[dict[str, Any]], *, conflict: tuple[str, ...], returning: tuple[str, ...]
) -> Result[Any]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING `returning` of the rows that went in: SQLAlchemy's multi-row
    insert, whose statements sqlite3 compiles in C."""
    return session.execute(
        sqlite_insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict) or None)
        .returning(*(table.c[name] for name in returning)),
        rows,
    )


def _issue_row(item: PreparedEvent, now: dt.datetime) -> dict[str, Any]:
    return {
        "project_id": item.project_id,
        "fingerprint": item.fingerprint,
        "grouping_version": item.grouping_version,
        "title": item.title[:500],
        "culprit": item.culprit[:500] if item.culprit else None,
        "exception_type": item.exception_type[:200] if item.exception_type else None,
        "platform": item.platform,
        "level": item.level,
        "severity": item.severity,
        "first_seen": item.timestamp,
        "last_seen": item.timestamp,
        "first_release": item.release,
        "last_release": item.release,
        "last_environment": item.environment,
        **NEW_ISSUE,
        "created_at": now,
        "updated_at": now,
    }


def _event_row(item: PreparedEvent, issue_id: int, *, archived: bool) -> dict[str, Any]:
    return {
        "project_id": item.project_id,
        "issue_id": issue_id,
        "event_id": item.event_id,
        "timestamp": item.timestamp,
        "received_at": item.received_at,
        "level": item.level,
        "severity": item.severity,
        "environment": item.environment,
        "release": item.release,
        "platform": item.platform,
        "message": item.message,
        "user_key": item.user_key,
        "tags": item.tags,
        "payload": None if archived else item.payload_json,
        "source": item.source,
        "size_bytes": item.size_bytes,
    }


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
    if session.get_bind().dialect.name == "postgresql":
        from collector.storage_postgres import store_batch_postgres  # psycopg's pipeline: PostgreSQL only

        return store_batch_postgres(session, items, now=now, archive=archive, commit=commit)

    # SQLite. Issues: create the missing ones (the unique key settles a race), then read them all. The insert comes
    # first, always: sqlite3 opens the transaction (and takes the database's write lock) at the first write, and
    # the read must be inside it.
    first_by_key = first_by_issue_key(items)
    created = _insert_rows(
        session,
        Issue.__table__,
        [_issue_row(first_by_key[key], now) for key in sorted(first_by_key)],
        conflict=("project_id", "fingerprint"),
        returning=("id",),
    )
    new_issue_ids = {row.id for row in created}
    issues = _lock_issues(session, first_by_key)
    issue_by_key = {(issue.project_id, issue.fingerprint): issue for issue in issues}

    unique = unique_events(items)
    inserted_rows = _insert_rows(
        session,
        Event.__table__,
        [
            _event_row(item, issue_by_key[(item.project_id, item.fingerprint)].id, archived=archive is not None)
            for item in unique.values()
        ],
        conflict=("project_id", "event_id"),
        returning=("project_id", "event_id"),
    )
    inserted = {(row.project_id, row.event_id) for row in inserted_rows}

    stored_by_issue: dict[int, list[PreparedEvent]] = defaultdict(list)
    for key in inserted:
        item = unique[key]
        stored_by_issue[issue_by_key[(item.project_id, item.fingerprint)].id].append(item)

    new_users = _record_users(session, stored_by_issue)
    # The hourly and daily counts that histograms and stats read, in this same transaction.
    count_events(
        session,
        (
            Counted(issue_id, item.project_id, item.severity, item.received_at)
            for issue_id, stored in stored_by_issue.items()
            for item in stored
        ),
    )

    transitions, changed = record_batch(issues, stored_by_issue, new_users, new_issue_ids)
    _write_issues(session, changed, now)

    # An issue created for events that all turned out to be retries has nothing to show: drop it.
    orphans = new_issue_ids - set(stored_by_issue)
    if orphans:
        session.execute(delete(Issue).where(Issue.id.in_(orphans)))

    if archive is not None:
        # Last, once SQL has taken everything, and only new events: retries were archived with their first copy.
        new = [item for key, item in unique.items() if key in inserted]
        archive.store(new, [issue_by_key[(item.project_id, item.fingerprint)].id for item in new])

    issue_ids = {key: issue.id for key, issue in issue_by_key.items()}
    return batch_outcomes(items, unique, inserted, issue_ids, transitions)


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
) -> list[StoreOutcome]:
    """One outcome per item, in order; an issue's transitions go with the first of its stored events."""
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
            )
        )
    return outcomes


def _record_users(session: Session, stored_by_issue: dict[int, list[PreparedEvent]]) -> dict[int, int]:
    """Remember each issue's distinct users; returns how many are new per issue."""
    rows = {
        (issue_id, item.user_key): item.timestamp
        for issue_id, stored in stored_by_issue.items()
        for item in stored
        if item.user_key
    }
    if not rows:
        return {}
    result = _insert_rows(
        session,
        IssueUser.__table__,
        [{"issue_id": issue_id, "user_key": key, "first_seen": at} for (issue_id, key), at in rows.items()],
        conflict=(),
        returning=("issue_id",),
    )
    counts: dict[int, int] = defaultdict(int)
    for row in result:
        counts[row.issue_id] += 1
    return counts


def _lock_issues(session: Session, keys: dict[tuple[int, str], PreparedEvent]) -> list[LockedIssue]:
    """The batch's issues, in id order (SQLite: the transaction's write lock covers them)."""
    projects, fingerprints = list({key[0] for key in keys}), list({key[1] for key in keys})
    table = Issue.__table__
    rows = session.execute(
        select(*(table.c[name] for name in LOCKED_COLUMNS))
        .where(table.c.project_id.in_(projects), table.c.fingerprint.in_(fingerprints))
        .order_by(table.c.id)
    )
    return list(starmap(LockedIssue, rows))  # the columns in the dataclass's order


def _write_issues(session: Session, issues: list[LockedIssue], now: dt.datetime) -> None:
    """Write what `record_occurrences` changed, and the time of the change, back to the rows."""
    if issues:
        rows = [issue_write_row(issue, now) for issue in issues]
        session.execute(_sqlite_issue_update(), [{f"b_{name}": value for name, value in row.items()} for row in rows])


def issue_write_row(issue: LockedIssue, now: dt.datetime) -> dict[str, Any]:
    """The columns ingest writes back to an issue's row, by name."""
    return {"id": issue.id, "updated_at": now, **{name: getattr(issue, name) for name in INGEST_WRITES}}


@lru_cache(maxsize=1)
def _sqlite_issue_update() -> Any:
    # Bound parameters may not be named like the columns they set: hence the b_ prefix.
    table: Table = Issue.__table__  # type: ignore[assignment]  # declared as FromClause, is a Table
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in WRITTEN_COLUMNS})
    )
