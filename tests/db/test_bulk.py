"""db.bulk: PostgreSQL statements over many rows with fixed text, rows as one JSON document (JSON columns beside it)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from db.bulk import execute, insert_rows, rows_params, table_columns
from db.models import Event
from db.types import JsonText
from tests.db.factories import make_issue, make_project

AT = dt.datetime(2026, 11, 28, 21, 30, tzinfo=dt.UTC)
COLUMNS = (
    *("project_id", "issue_id", "event_id", "timestamp", "received_at", "severity", "message", "tags", "payload"),
    *("source", "size_bytes"),
)
TAIL = "ON CONFLICT (project_id, event_id) DO NOTHING RETURNING event_id"


@pytest.fixture
def pg_session(db_session):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("db.bulk is PostgreSQL's path; SQLite's storage binds its own rows (storage_sqlite.py)")
    return db_session


def row(project_id: int, issue_id: int, event_id: str, **fields: object) -> dict[str, object]:
    values: dict[str, object] = {
        "project_id": project_id,
        "issue_id": issue_id,
        "event_id": event_id,
        "timestamp": AT,
        "received_at": AT,
        "severity": "high",
        "message": 'quote " and back\\slash',
        "tags": {"env": "prod"},
        "payload": JsonText('{"a": [1, "x\\"y"], "n": 123456789012345678901234567890}'),
        "source": "sentry",
        "size_bytes": 10,
    }
    values.update(fields)
    return values


def test_rows_go_in_once_and_the_statement_text_stays_the_same(pg_session) -> None:
    project = make_project(pg_session)
    issue = make_issue(pg_session, project)
    table = Event.__table__
    statement, columns = insert_rows(table, COLUMNS, TAIL), table_columns(table, COLUMNS)
    first = [row(project.id, issue.id, "a" * 32), row(project.id, issue.id, "b" * 32, payload=None, tags={})]
    inserted = execute(pg_session, statement, rows_params(columns, first)).scalars().all()
    assert sorted(inserted) == ["a" * 32, "b" * 32]
    again = [row(project.id, issue.id, "b" * 32), row(project.id, issue.id, "c" * 32)]
    assert insert_rows(table, COLUMNS, TAIL) is statement
    assert execute(pg_session, statement, rows_params(columns, again)).scalars().all() == ["c" * 32]
    stored = {e.event_id: e for e in pg_session.scalars(select(Event).where(Event.project_id == project.id))}
    assert stored["a" * 32].payload == {"a": [1, 'x"y'], "n": 123456789012345678901234567890}
    assert stored["a" * 32].message == 'quote " and back\\slash' and stored["a" * 32].tags == {"env": "prod"}
    # None is JSON null, as SQLAlchemy's JSON type writes it, not SQL NULL
    kinds = pg_session.execute(text("SELECT json_typeof(payload) FROM events WHERE event_id = :e"), {"e": "b" * 32})
    assert kinds.scalar_one() == "null"


def test_a_value_too_long_for_its_column_is_refused_not_cut(pg_session) -> None:
    project = make_project(pg_session)
    issue = make_issue(pg_session, project)
    table = Event.__table__
    with pytest.raises(DBAPIError, match="too long"):
        execute(
            pg_session,
            insert_rows(table, COLUMNS, TAIL),
            rows_params(table_columns(table, COLUMNS), [row(project.id, issue.id, "x" * 33)]),
        )


def test_times_keep_their_instant_and_a_naive_one_is_refused() -> None:
    columns = table_columns(Event.__table__, ("event_id", "timestamp"))
    elsewhere = dt.datetime(2026, 11, 28, 23, 30, 0, 250, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    document = rows_params(columns, [{"event_id": "a", "timestamp": elsewhere}])["batch"]
    assert dt.datetime.fromisoformat(json.loads(document)[0]["timestamp"]) == AT.replace(microsecond=250)
    with pytest.raises(ValueError, match="naive"):
        rows_params(columns, [{"event_id": "a", "timestamp": elsewhere.replace(tzinfo=None)}])
