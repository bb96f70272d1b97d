"""Counting newly stored events into the roll-ups (db.models.rollups): per issue, per project and severity, per project
and minute, and per severity.

Counts go in by upsert in the caller's transaction, one statement per table with its rows in key order, so that
collectors writing at the same time lock the rows they share in one order and never deadlock."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.bulk import execute, insert_rows, rows_params, table_columns
from db.models import (
    IssueDailyCount,
    IssueHourlyCount,
    ProjectDailyCount,
    ProjectHourlyCount,
    ProjectMinuteCount,
    SeverityHourlyCount,
)

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Counted:
    """What the roll-ups need of one stored event."""

    issue_id: int
    project_id: int
    severity: str
    received_at: dt.datetime


def minute_of(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(second=0, microsecond=0)


def hour_of(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def day_of(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def count_events(session: Session, events: Iterable[Counted]) -> None:
    """Add newly stored events to the hourly and daily counts per issue and per (project, severity), and to the
    hourly counts per severity."""
    for table, key, counts in all_counts(events):
        _add(session, table, key, counts)


def count_shared(session: Session, events: Iterable[Counted]) -> None:
    """Add events to the counts every writer shares (per project and severity, per severity)."""
    for table, key, counts in shared_counts(events):
        _add(session, table, key, counts)


def all_counts(events: Iterable[Counted]) -> list[tuple[Any, tuple[str, ...], Counter[Any]]]:
    """The additions to every roll-up, as (table, key columns, counts by key), in the order to write them: each
    issue's own counts first, then those every writer shares."""
    events = list(events)
    by_issue_hour: Counter[tuple[int, dt.datetime]] = Counter()
    for event in events:
        by_issue_hour[(event.issue_id, hour_of(event.received_at))] += 1
    if not by_issue_hour:
        return []
    by_issue_day: Counter[tuple[int, dt.datetime]] = Counter()
    for (issue_id, hour), n in by_issue_hour.items():
        by_issue_day[(issue_id, day_of(hour))] += n
    return [
        (IssueHourlyCount.__table__, ("issue_id", "hour"), by_issue_hour),
        (IssueDailyCount.__table__, ("issue_id", "day"), by_issue_day),
        *shared_counts(events),
    ]


def shared_counts(events: Iterable[Counted]) -> list[tuple[Any, tuple[str, ...], Counter[Any]]]:
    """The additions to the counts every writer shares, as (table, key columns, counts by key), in the order to
    write them. A few rows an hour that each batch locks: a writer adds to them last, just before its commit."""
    by_project_minute: Counter[tuple[dt.datetime, int, str]] = Counter()
    for event in events:
        by_project_minute[(minute_of(event.received_at), event.project_id, str(event.severity))] += 1
    if not by_project_minute:
        return []
    by_minute: Counter[tuple[dt.datetime, int]] = Counter()
    by_project_hour: Counter[tuple[dt.datetime, int, str]] = Counter()
    for (minute, project_id, severity), n in by_project_minute.items():
        by_minute[(minute, project_id)] += n
        by_project_hour[(hour_of(minute), project_id, severity)] += n
    by_project_day: Counter[tuple[dt.datetime, int, str]] = Counter()
    by_severity_hour: Counter[tuple[dt.datetime, str]] = Counter()
    for (hour, project_id, severity), n in by_project_hour.items():
        by_project_day[(day_of(hour), project_id, severity)] += n
        by_severity_hour[(hour, severity)] += n
    return [
        (ProjectMinuteCount.__table__, ("minute", "project_id"), by_minute),
        (ProjectHourlyCount.__table__, ("hour", "project_id", "severity"), by_project_hour),
        (ProjectDailyCount.__table__, ("day", "project_id", "severity"), by_project_day),
        # Last: its few rows are the ones every writer shares, so they are locked for the shortest time.
        (SeverityHourlyCount.__table__, ("hour", "severity"), by_severity_hour),
    ]


def issue_count_ctes(stored: str) -> str:
    """PostgreSQL: CTEs that add the rows of `stored` (a CTE of newly stored events with `issue_id` and
    `received_at`) to the hourly and daily counts per issue, inside the statement that stores them (no round trip,
    no Python). Keys in order, as `_add` does, so that writers lock shared rows in one order."""
    ctes = []
    for table, key in ((IssueHourlyCount.__tablename__, "hour"), (IssueDailyCount.__tablename__, "day")):
        # Truncated in UTC whatever the session's time zone, as hour_of and day_of do.
        unit = f"date_trunc('{key}', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        ctes.append(
            f"{table}_added AS (INSERT INTO {table} (issue_id, {key}, events) "
            f"SELECT issue_id, {unit}, count(*) FROM {stored} GROUP BY 1, 2 ORDER BY 1, 2 "
            f"ON CONFLICT (issue_id, {key}) DO UPDATE SET events = {table}.events + excluded.events)"
        )
    return ", ".join(ctes)


def _add(session: Session, table: Any, key: tuple[str, ...], counts: Counter[Any]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        execute(session, *postgres_count_upsert(table, key, counts))
        return
    session.execute(_sqlite_upsert(table, key), _rows(key, counts))


def postgres_count_upsert(table: Any, key: tuple[str, ...], counts: Counter[Any]) -> tuple[str, dict[str, Any]]:
    """The statement and parameters that add `counts` to `table` on PostgreSQL."""
    return _upsert(table, key), rows_params(table_columns(table, (*key, "events")), _rows(key, counts))


def _rows(key: tuple[str, ...], counts: Counter[Any]) -> list[dict[str, Any]]:
    return [{**dict(zip(key, k, strict=True)), "events": n} for k, n in sorted(counts.items())]


@lru_cache(maxsize=8)
def _upsert(table: Any, key: tuple[str, ...]) -> str:
    # The rows as one document (db.bulk): the same text whatever the batch, prepared once, all rows in one round trip.
    keys = ", ".join(key)
    return insert_rows(
        table,
        (*key, "events"),
        f"ORDER BY {keys} ON CONFLICT ({keys}) DO UPDATE SET events = {table.name}.events + excluded.events",
    )


@lru_cache(maxsize=8)
def _sqlite_upsert(table: Any, key: tuple[str, ...]) -> Any:
    statement = sqlite_insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={"events": table.c.events + statement.excluded.events}
    )
