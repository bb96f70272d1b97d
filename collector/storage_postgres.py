"""PostgreSQL's way of storing a batch (collector/storage.py has the contract): the same steps in two round trips.

The writer thread shares the GIL with the event loop, so each answer it waits for costs it a wait for the GIL on
top of the round trip; one statement at a time, a batch took ten. Here: (1) the new issues, the events with their
issue found by key in SQL, the per-issue counts and users in one statement, and the issues read and locked, sent as
one pipeline; (2) the issues' new state, the shared counts and, when the caller commits next (the writer), the
COMMIT, sent as another.

Locks: issues are locked `FOR NO KEY UPDATE`, which the events' foreign-key checks (`FOR KEY SHARE`) do not wait
for, so two collectors that insert events of the same issue before locking it do not deadlock (two writers of one
issue within the same hour and day take turns even earlier, on its count rows; tests/collector/test_storage_issues.py
steps through the other case); rows every writer shares (the per-project and per-severity counts) are written in the
last pipeline, held only until the commit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import psycopg
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
from db.bulk import rows_from, rows_params, update_params, update_rows
from db.issue_state import NEW_ISSUE
from db.models import Event, Issue
from db.rollups import Counted, issue_count_ctes, postgres_count_upsert, shared_counts
from db.types import json_serializer

if TYPE_CHECKING:
    from collector.archive import EventArchive

_ISSUES = Issue.__table__
_EVENTS = Event.__table__

# A new issue is made from the first event of its key; the other columns start as a new issue's do.
_NEW_ISSUE_COLUMNS = tuple(
    _ISSUES.c[name]
    for name in (
        "project_id", "fingerprint", "grouping_version", "title", "culprit", "exception_type", "platform", "level",
        "severity", "first_seen", "first_release", "last_environment",
    )
)  # fmt: skip
# The batch's issues by their key, as index lookups: PostgreSQL takes the batch's rows for 100, so joined by the
# document alone it reads the whole issues table (a hash join) until the table is large enough for 100 lookups to cost
# less (measured: with 5,000 issues every batch read them all three times; with 20,000 it looked them up).
_BATCH_ISSUES = (
    "issues.project_id = ANY(CAST(%(projects)b AS INTEGER[])) "
    "AND issues.fingerprint = ANY(CAST(%(fingerprints)b AS TEXT[]))"
)
# psycopg prepares a statement run five times; PostgreSQL then plans it anew for each run unless it deems the one
# generic plan no dearer, and planning these statements (the issues table has 18 indexes to weigh) cost more than
# running them. Their plans do not depend on the values: the batch is index lookups by key (_BATCH_ISSUES).
_GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"
_INSERT_NEW_ISSUES = (
    "INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, exception_type, platform, level, "
    f"severity, first_seen, last_seen, first_release, last_release, last_environment, {', '.join(NEW_ISSUE)}, "
    "created_at, updated_at) "
    "SELECT project_id, fingerprint, grouping_version, title, culprit, exception_type, platform, level, severity, "
    f"first_seen, first_seen, first_release, first_release, last_environment, "
    f"{', '.join(f'%(new_{name})s' for name in NEW_ISSUE)}, %(now)s, %(now)s "
    f"FROM {rows_from(_NEW_ISSUE_COLUMNS, 'new')} "
    # Known issues are skipped before the insert, so they take no id from the sequence; a race with another
    # collector creating the same issue is settled by the unique key. Keys in order: no deadlock between inserts.
    "WHERE NOT EXISTS (SELECT 1 FROM issues WHERE issues.project_id = new.project_id "
    f"AND issues.fingerprint = new.fingerprint AND {_BATCH_ISSUES}) "
    "ORDER BY project_id, fingerprint ON CONFLICT (project_id, fingerprint) DO NOTHING RETURNING id"
)
_NEW_ISSUE_PARAMS = {f"new_{name}": value for name, value in NEW_ISSUE.items()}

_EVENT_COLUMNS = tuple(c for c in _EVENTS.c if c.name not in ("id", "issue_id"))
_BATCH_COLUMNS = (*_EVENT_COLUMNS, _ISSUES.c.fingerprint)  # each event's issue is found by its key
_EVENT_NAMES = ", ".join(c.name for c in _EVENT_COLUMNS)
_STORE_EVENTS = (
    # An event_id already stored is a retry: not inserted, not returned, not counted.
    "WITH stored AS ("
    f"INSERT INTO events (issue_id, {_EVENT_NAMES}) "
    f"SELECT issues.id, {', '.join(f'batch.{c.name}' for c in _EVENT_COLUMNS)} "
    f"FROM {rows_from(_BATCH_COLUMNS)} "
    "JOIN issues ON issues.project_id = batch.project_id AND issues.fingerprint = batch.fingerprint "
    f"WHERE {_BATCH_ISSUES} "
    "ON CONFLICT (event_id, project_id) DO NOTHING "
    "RETURNING project_id, event_id, issue_id, received_at, user_key, timestamp), "
    f"{issue_count_ctes('stored')}, "
    "users AS (INSERT INTO issue_users (issue_id, user_key, first_seen) "
    "SELECT issue_id, user_key, min(timestamp) FROM stored WHERE user_key IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2 "
    "ON CONFLICT DO NOTHING RETURNING issue_id) "
    # Two kinds of rows: each stored event, and each issue's new user (event_id NULL).
    "SELECT project_id, event_id, issue_id FROM stored UNION ALL SELECT NULL, NULL, issue_id FROM users"
)

_LOCK_ISSUES = f"SELECT {', '.join(LOCKED_COLUMNS)} FROM issues WHERE {_BATCH_ISSUES} ORDER BY id FOR NO KEY UPDATE"
_WRITE_ISSUES = update_rows(_ISSUES, "id", WRITTEN_COLUMNS)
_DELETE_ISSUES = "DELETE FROM issues WHERE id = ANY(CAST(%(ids)b AS BIGINT[]))"


def store_batch_postgres(
    session: Session,
    items: list[PreparedEvent],
    *,
    now: dt.datetime,
    archive: EventArchive | None = None,
    commit: bool = False,
) -> list[StoreOutcome]:
    first_by_key = first_by_issue_key(items)
    unique = unique_events(items)
    batch_issues = {"projects": list({k[0] for k in first_by_key}), "fingerprints": list({k[1] for k in first_by_key})}
    connection: psycopg.Connection[Any] = session.connection().connection.driver_connection  # type: ignore[assignment]
    statement = _STORE_EVENTS
    try:
        with connection.pipeline():
            statement = _GENERIC_PLANS
            connection.execute(statement)
            statement = _INSERT_NEW_ISSUES
            created = connection.execute(statement, {**_new_issue_params(first_by_key, now), **batch_issues})
            statement = _STORE_EVENTS
            events = _event_params(unique, archived=archive is not None)
            stored = connection.execute(statement, {**events, **batch_issues})
            statement = _LOCK_ISSUES
            locked = connection.execute(statement, batch_issues)
        new_issue_ids = {row[0] for row in created.fetchall()}
        inserted: set[tuple[int, str]] = set()
        new_users: dict[int, int] = defaultdict(int)
        for project_id, event_id, issue_id in stored.fetchall():
            if event_id is None:
                new_users[issue_id] += 1
            else:
                inserted.add((project_id, event_id))
        issues = [LockedIssue(*row) for row in locked.fetchall()]  # the columns in the dataclass's order
        issue_ids = {(issue.project_id, issue.fingerprint): issue.id for issue in issues}
        if len(issue_ids) < len(first_by_key):  # deleted between the two statements: store nothing of this batch
            raise RuntimeError("an issue of this batch was deleted while the batch was being stored")

        stored_by_issue: dict[int, list[PreparedEvent]] = defaultdict(list)
        for key in inserted:
            item = unique[key]
            stored_by_issue[issue_ids[(item.project_id, item.fingerprint)]].append(item)
        transitions, changed = record_batch(issues, stored_by_issue, new_users, new_issue_ids)
        # An issue created for events that all turned out to be retries has nothing to show: drop it.
        orphans = new_issue_ids - set(stored_by_issue)
        shared = shared_counts(
            Counted(issue_id, item.project_id, item.severity, item.received_at)
            for issue_id, events in stored_by_issue.items()
            for item in events
        )
        with connection.pipeline():
            if changed:
                statement = _WRITE_ISSUES
                rows = [issue_write_row(issue, now) for issue in changed]
                connection.execute(statement, update_params(_ISSUES, "id", WRITTEN_COLUMNS, rows))
            for table, columns, counts in shared:
                statement, params = postgres_count_upsert(table, columns, counts)
                connection.execute(statement, params)
            if orphans:
                statement = _DELETE_ISSUES
                connection.execute(statement, {"ids": sorted(orphans)})
            if commit and archive is None:  # with an archive, its writes come first
                # As a statement of the pipeline: connection.commit() would wait for its own round trip.
                statement = "COMMIT"
                connection.execute(statement)
    except psycopg.Error as exc:
        # As SQLAlchemy would have raised it: the writer tells an outage from a bad batch by these.
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc

    if archive is not None:
        # Last, once SQL has taken everything, and only new events: retries were archived with their first copy.
        new = [item for key, item in unique.items() if key in inserted]
        archive.store(new, [issue_ids[(item.project_id, item.fingerprint)] for item in new])
    return batch_outcomes(items, unique, inserted, issue_ids, transitions, issues)


def _new_issue_params(first_by_key: dict[tuple[int, str], PreparedEvent], now: dt.datetime) -> dict[str, Any]:
    rows = [
        {
            "project_id": i.project_id,
            "fingerprint": i.fingerprint,
            "grouping_version": i.grouping_version,
            "title": i.title[:500],
            "culprit": i.culprit[:500] if i.culprit else None,
            "exception_type": i.exception_type[:200] if i.exception_type else None,
            "platform": i.platform,
            "level": i.level,
            "severity": i.severity,
            "first_seen": i.timestamp,
            "first_release": i.release,
            "last_environment": i.environment,
        }
        for i in first_by_key.values()
    ]
    return {**rows_params(_NEW_ISSUE_COLUMNS, rows, "new"), **_NEW_ISSUE_PARAMS, "now": now}


def _event_params(unique: dict[tuple[int, str], PreparedEvent], *, archived: bool) -> dict[str, Any]:
    items = list(unique.values())
    rows = [{name: getattr(i, name) for name in _PLAIN_EVENT_NAMES} for i in items]
    params = rows_params(_PLAIN_EVENT_COLUMNS, rows)
    # The JSON columns' arrays, written here: tags by the engines' encoder, payloads already encoded (or archived).
    params["tags"] = [json_serializer(i.tags) for i in items]
    params["payload"] = [None if archived else i.payload_json for i in items]
    return params


# The event columns whose values are the PreparedEvent attribute of the same name, as they are: all but the JSON ones.
_PLAIN_EVENT_COLUMNS = tuple(c for c in _BATCH_COLUMNS if c.name not in ("tags", "payload"))
_PLAIN_EVENT_NAMES = tuple(c.name for c in _PLAIN_EVENT_COLUMNS)
