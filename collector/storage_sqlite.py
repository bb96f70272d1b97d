"""SQLite's way of storing a batch (collector/storage.py has the contract): the same steps as SQLAlchemy Core
statements took, sent as fixed SQL text to the sqlite3 connection itself.

SQLite does its work in this process, so what a batch costs is Python's: through SQLAlchemy (compiling and caching
each statement, each bound value through its column type) two thirds of a batch's CPU went to that layer, about
450 µs per stored event. Here each value is converted as its column type would have stored it (times as naive UTC
text with microseconds, JSON as text), and rows are bound in C (`executemany`, multi-row VALUES).

Locks: sqlite3 opens the transaction at the first write and takes the database's one write lock with it, so the
issues are inserted before they are read, and the read is inside the transaction.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from collector.pipeline import PreparedEvent
from collector.storage import (
    LOCKED_COLUMNS,
    WRITTEN_COLUMNS,
    LockedIssue,
    StoreOutcome,
    batch_outcomes,
    first_by_issue_key,
    issue_write_row,
    record_batch,
    unique_events,
)
from db.issue_state import NEW_ISSUE
from db.rollups import Counted, all_counts
from db.types import json_serializer

if TYPE_CHECKING:
    from collector.archive import EventArchive

_ISSUE_COLUMNS = (
    "project_id", "fingerprint", "grouping_version", "title", "culprit", "exception_type", "platform", "level",
    "severity", "first_seen", "last_seen", "first_release", "last_release", "last_environment", *NEW_ISSUE,
    "created_at", "updated_at",
)  # fmt: skip
_EVENT_COLUMNS = (
    "project_id", "issue_id", "event_id", "timestamp", "received_at", "level", "severity", "environment", "release",
    "platform", "message", "user_key", "tags", "payload", "source", "size_bytes",
)  # fmt: skip
# The LockedIssue fields SQLite hands back as text or 0/1, and what they are read into.
_TIME_FIELDS = ("first_seen", "last_seen", "resolved_at", "acknowledged_at", "snooze_until")
_BOOL_FIELDS = ("resolved_in_next_release", "is_regression")

_LOCK_ISSUES = (
    f"SELECT {', '.join(LOCKED_COLUMNS)} FROM issues "
    "WHERE project_id IN (SELECT value FROM json_each(?)) AND fingerprint IN (SELECT value FROM json_each(?)) "
    "ORDER BY id"
)
_WRITE_ISSUES = f"UPDATE issues SET {', '.join(f'{name} = ?' for name in WRITTEN_COLUMNS)} WHERE id = ?"
_DELETE_ISSUES = "DELETE FROM issues WHERE id IN (SELECT value FROM json_each(?))"


def store_batch_sqlite(
    session: Session, items: list[PreparedEvent], *, now: dt.datetime, archive: EventArchive | None = None
) -> list[StoreOutcome]:
    connection: sqlite3.Connection = session.connection().connection.driver_connection  # type: ignore[assignment]
    cursor = connection.cursor()
    try:
        return _store(cursor, items, now, archive)
    except sqlite3.Error as exc:
        # As SQLAlchemy would have raised it: the writer tells an outage (OperationalError: the database is locked,
        # read-only, out of disk) from a bad batch (IntegrityError) by these.
        raise DBAPIError.instance("storing a batch of events", None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


def _store(
    cursor: sqlite3.Cursor, items: list[PreparedEvent], now: dt.datetime, archive: EventArchive | None
) -> list[StoreOutcome]:
    # Issues: create the missing ones (the unique key settles a race), then read them all.
    first_by_key = first_by_issue_key(items)
    new_issue_ids = {
        row[0]
        for row in _insert(
            cursor, "issues", _ISSUE_COLUMNS, [_issue_values(first_by_key[key], now) for key in sorted(first_by_key)]
        )
    }
    issues = _lock_issues(cursor, first_by_key)
    issue_ids = {(issue.project_id, issue.fingerprint): issue.id for issue in issues}

    unique = unique_events(items)
    archived = archive is not None
    rows = [_event_values(item, issue_ids[(item.project_id, item.fingerprint)], archived) for item in unique.values()]
    inserted = {(row[0], row[1]) for row in _insert(cursor, "events", _EVENT_COLUMNS, rows, "project_id, event_id")}

    stored_by_issue: dict[int, list[PreparedEvent]] = defaultdict(list)
    for key in inserted:
        item = unique[key]
        stored_by_issue[issue_ids[(item.project_id, item.fingerprint)]].append(item)

    new_users = _record_users(cursor, stored_by_issue)
    # The hourly and daily counts that histograms and stats read, in this same transaction.
    for table, columns, counts in all_counts(
        Counted(issue_id, item.project_id, item.severity, item.received_at)
        for issue_id, stored in stored_by_issue.items()
        for item in stored
    ):
        cursor.executemany(
            _count_upsert(table.name, columns), [tuple(map(_value, (*k, n))) for k, n in sorted(counts.items())]
        )

    transitions, changed = record_batch(issues, stored_by_issue, new_users, new_issue_ids)
    if changed:
        cursor.executemany(_WRITE_ISSUES, [_write_values(issue, now) for issue in changed])

    # An issue created for events that all turned out to be retries has nothing to show: drop it.
    orphans = new_issue_ids - set(stored_by_issue)
    if orphans:
        cursor.execute(_DELETE_ISSUES, (orjson.dumps(sorted(orphans)).decode(),))

    if archive is not None:
        # Last, once SQL has taken everything, and only new events: retries were archived with their first copy.
        new = [item for key, item in unique.items() if key in inserted]
        archive.store(new, [issue_ids[(item.project_id, item.fingerprint)] for item in new])
    return batch_outcomes(items, unique, inserted, issue_ids, transitions, issues)


def _insert(
    cursor: sqlite3.Cursor,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    returning: str = "id",
) -> list[tuple[Any, ...]]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING `returning` of the rows that went in, all in one statement."""
    if not rows:
        return []
    values = [value for row in rows for value in row]
    return cursor.execute(_insert_text(table, columns, len(rows), returning), values).fetchall()


@lru_cache(maxsize=256)
def _insert_text(table: str, columns: tuple[str, ...], count: int, returning: str) -> str:
    # One text per batch size; sqlite3 keeps the compiled statements of the last 128 texts it ran.
    row = f"({', '.join('?' * len(columns))})"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * count)} "
        f"ON CONFLICT DO NOTHING RETURNING {returning}"
    )


@lru_cache(maxsize=8)
def _count_upsert(table: str, key: tuple[str, ...]) -> str:
    keys = ", ".join(key)
    return (
        f"INSERT INTO {table} ({keys}, events) VALUES ({', '.join('?' * (len(key) + 1))}) "
        f"ON CONFLICT ({keys}) DO UPDATE SET events = events + excluded.events"
    )


def _lock_issues(cursor: sqlite3.Cursor, keys: dict[tuple[int, str], PreparedEvent]) -> list[LockedIssue]:
    """The batch's issues, in id order (the transaction's write lock covers them)."""
    projects = orjson.dumps(sorted({key[0] for key in keys})).decode()
    fingerprints = orjson.dumps(sorted({key[1] for key in keys})).decode()
    issues = []
    for row in cursor.execute(_LOCK_ISSUES, (projects, fingerprints)):
        issue = LockedIssue(*row)  # the columns in the dataclass's order
        for name in _TIME_FIELDS:
            setattr(issue, name, _read_time(getattr(issue, name)))
        for name in _BOOL_FIELDS:
            setattr(issue, name, bool(getattr(issue, name)))
        issues.append(issue)
    return issues


def _record_users(cursor: sqlite3.Cursor, stored_by_issue: dict[int, list[PreparedEvent]]) -> dict[int, int]:
    """Remember each issue's distinct users; returns how many are new per issue."""
    first_seen = {
        (issue_id, item.user_key): item.timestamp
        for issue_id, stored in stored_by_issue.items()
        for item in stored
        if item.user_key
    }
    rows = [(issue_id, key, _time(at)) for (issue_id, key), at in first_seen.items()]
    counts: dict[int, int] = defaultdict(int)
    for (issue_id,) in _insert(cursor, "issue_users", ("issue_id", "user_key", "first_seen"), rows, "issue_id"):
        counts[issue_id] += 1
    return counts


def _issue_values(item: PreparedEvent, now: dt.datetime) -> tuple[Any, ...]:
    stamp, at = _time(now), _time(item.timestamp)
    return (
        item.project_id, item.fingerprint, item.grouping_version, item.title[:500],
        item.culprit[:500] if item.culprit else None, item.exception_type[:200] if item.exception_type else None,
        item.platform, item.level, _value(item.severity), at, at, item.release, item.release, item.environment,
        *map(_value, NEW_ISSUE.values()), stamp, stamp,
    )  # fmt: skip


def _event_values(item: PreparedEvent, issue_id: int, archived: bool) -> tuple[Any, ...]:
    return (
        item.project_id, issue_id, item.event_id, _time(item.timestamp), _time(item.received_at), item.level,
        _value(item.severity), item.environment, item.release, item.platform, item.message, item.user_key,
        json_serializer(item.tags), None if archived else item.payload_json, item.source, item.size_bytes,
    )  # fmt: skip


def _write_values(issue: LockedIssue, now: dt.datetime) -> tuple[Any, ...]:
    row = issue_write_row(issue, now)
    return (*(_value(row[name]) for name in WRITTEN_COLUMNS), row["id"])


def _value(value: Any) -> Any:
    """A value as SQLAlchemy's column types store it in SQLite: times as text, enum members as their value."""
    if isinstance(value, dt.datetime):
        return _time(value)
    if isinstance(value, str) and type(value) is not str:
        return str(value)  # a StrEnum member (or a JsonText, which is its own text)
    return value


def _time(value: dt.datetime | None) -> str | None:
    """A timestamp as UTCDateTime stores it in SQLite: naive UTC, always with microseconds, so that text order is
    time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given where an aware one is required")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _read_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
