"""PostgreSQL stores a batch by index lookups of its issues, whatever the size of the issues table.

The batch's rows come from a JSON document, whose row count PostgreSQL cannot see (it takes 100): joined by the
document alone, each batch read every issue of the table, several times, until the table was large enough for 100
index lookups to look cheaper; and the writer runs its statements' generic plans, made once per connection. The
plans are read as PostgreSQL ran them (auto_explain, sent to this client).
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from collector.storage import store_batch
from tests.collector.factories import prepared_event
from tests.db.factories import make_project

AT = dt.datetime(2026, 11, 28, 22, 0, tzinfo=dt.UTC)
OLDER_ISSUES = 5_000  # where the document's 100 rows made a hash join over the whole table the cheaper plan

_OLDER_ISSUES = (
    "INSERT INTO issues (project_id, fingerprint, grouping_version, title, severity, status, first_seen, last_seen, "
    "times_seen, users_affected, resolved_in_next_release, is_regression, escalation_level, impact_score, "
    "created_at, updated_at) "
    "SELECT :project, 'older-' || n, 2, 'OlderError ' || n, 'high', 'unresolved', :at, :at, 1, 0, false, false, 0, "
    "1.0, :at, :at FROM generate_series(1, :count) AS n"
)


def test_a_batch_reads_its_issues_by_index_on_a_table_of_thousands(db_session):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("the plans are PostgreSQL's; SQLite's storage looks issues up one key at a time")
    project = make_project(db_session)
    db_session.execute(text(_OLDER_ISSUES), {"project": project.id, "at": AT, "count": OLDER_ISSUES})
    known = [prepared_event(project.id, AT, fingerprint=f"older-{n}") for n in (7, 1_234, 4_321)]
    store_batch(db_session, known, now=AT)
    db_session.commit()
    db_session.execute(text("ANALYZE issues"))

    connection: psycopg.Connection = db_session.connection().connection.driver_connection  # type: ignore[assignment]
    try:
        db_session.execute(text("LOAD 'auto_explain'"))
    except DBAPIError as exc:  # not a superuser, or a server without the contrib modules
        pytest.skip(f"auto_explain cannot be loaded here: {exc}")
    for setting in ("auto_explain.log_min_duration = 0", "client_min_messages = log"):
        db_session.execute(text(f"SET LOCAL {setting}"))
    plans: list[str] = []
    connection.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))

    # Six batches: psycopg prepares a statement on its fifth run, and a prepared one runs PostgreSQL's generic plan.
    for run in range(6):
        batch = [
            *(prepared_event(project.id, AT, fingerprint=f"older-{n}") for n in (7 + run, 1_234, 4_321)),
            prepared_event(project.id, AT, fingerprint=f"brand-new-{run}"),
        ]
        outcomes = store_batch(db_session, batch, now=AT + dt.timedelta(minutes=1))
        assert len({outcome.issue_id for outcome in outcomes}) == 4
    db_session.commit()

    statements = [plan for plan in plans if "Query Text" in plan]
    assert sum("Update on issues" in plan for plan in statements) == 6, plans
    assert sum("Insert on events" in plan for plan in statements) == 6
    assert not [plan for plan in statements if "Seq Scan on issues" in plan]
