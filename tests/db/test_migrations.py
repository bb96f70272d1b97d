"""Migrations build the whole schema from empty on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import db.models  # noqa: F401
from db.base import Base
from db.enums import IssueStatus, Severity
from db.migrate import current_revision, downgrade, head_revision, upgrade
from db.models import Issue
from db.session import SchemaOutOfDate, create_db_engine, make_session_factory, open_database
from tests.conftest import temporary_postgres_database
from tests.db.factories import make_developer, make_event, make_issue, make_project

REPORTING_VIEWS = {
    "recent_errors",
    "unresolved_critical_errors",
    "error_summary_by_service",
    "developer_workload",
    "daily_error_trends",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with temporary_postgres_database(request.getfixturevalue("postgres_admin_url")) as url:
        yield url


def test_upgrade_from_empty_creates_every_table(empty_database_url):
    engine = create_db_engine(empty_database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_migrated_schema_matches_the_models(empty_database_url):
    engine = create_db_engine(empty_database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: run alembic revision --autogenerate"


def test_downgrade_to_base_and_back(empty_database_url):
    engine = create_db_engine(empty_database_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_open_database_refuses_an_old_schema_unless_asked_to_upgrade(empty_database_url):
    with pytest.raises(SchemaOutOfDate, match="errlog db upgrade"):
        open_database(empty_database_url)
    engine, _ = open_database(empty_database_url, auto_upgrade=True)
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.mark.postgres
def test_postgres_gets_the_five_reporting_views(postgres_admin_url):
    with temporary_postgres_database(postgres_admin_url) as url:
        engine = create_db_engine(url)
        upgrade(engine)
        assert set(inspect(engine).get_view_names()) == REPORTING_VIEWS
        engine.dispose()


def test_sqlite_has_no_views_but_works(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    assert inspect(engine).get_view_names() == []
    engine.dispose()


@pytest.fixture
def reporting_data(postgres_admin_url):
    """Two services, two developers and issues chosen so that each view has rows to include and to leave out."""
    with temporary_postgres_database(postgres_admin_url) as url:
        engine = create_db_engine(url)
        upgrade(engine)
        session = make_session_factory(engine)()
        now = dt.datetime.now(dt.UTC)
        shop, billing = make_project(session, "shop"), make_project(session, "billing")
        ada, bob = make_developer(session, "Ada"), make_developer(session, "Bob")
        ids = {
            "fresh_critical": make_issue(
                session, shop, severity=Severity.CRITICAL, assignee_id=ada.id, assigned_at=now, times_seen=5
            ).id,
            "acked_critical": make_issue(
                session,
                billing,
                severity=Severity.CRITICAL,
                status=IssueStatus.ACKNOWLEDGED,
                assignee_id=ada.id,
                last_seen=now - dt.timedelta(days=3),
                times_seen=2,
            ).id,
            "resolved_critical": make_issue(
                session,
                shop,
                severity=Severity.CRITICAL,
                status=IssueStatus.RESOLVED,
                assignee_id=bob.id,
                times_seen=1,
            ).id,
            "old_medium": make_issue(
                session,
                shop,
                severity=Severity.MEDIUM,
                last_seen=now - dt.timedelta(days=2),
                assignee_id=bob.id,
                times_seen=7,
            ).id,
        }
        issue = session.get(Issue, ids["fresh_critical"])
        for user in ("u1", "u2", "u1"):
            make_event(session, issue, user_key=user)
        make_event(session, session.get(Issue, ids["old_medium"]), received_at=now - dt.timedelta(days=2))
        session.commit()
        yield session, ids
        session.close()
        engine.dispose()


def _rows(session, view):
    return [dict(r._mapping) for r in session.execute(text(f"SELECT * FROM {view}"))]


@pytest.mark.postgres
def test_recent_errors_holds_the_last_24_hours(reporting_data):
    session, ids = reporting_data
    rows = _rows(session, "recent_errors")
    assert {r["error_id"] for r in rows} == {ids["fresh_critical"], ids["resolved_critical"]}
    assert {r["service"] for r in rows} == {"shop"}


@pytest.mark.postgres
def test_unresolved_critical_leaves_out_resolved_and_lower_severities(reporting_data):
    session, ids = reporting_data
    rows = _rows(session, "unresolved_critical_errors")
    assert {r["error_id"] for r in rows} == {ids["fresh_critical"], ids["acked_critical"]}
    assert {r["assignee"] for r in rows} == {"Ada"}


@pytest.mark.postgres
def test_summary_by_service_counts_open_errors_and_events(reporting_data):
    session, _ = reporting_data
    rows = {r["service"]: r for r in _rows(session, "error_summary_by_service")}
    assert rows["shop"]["errors"] == 3
    assert rows["shop"]["open_errors"] == 2
    assert rows["shop"]["open_critical"] == 1
    assert rows["shop"]["open_medium"] == 1
    assert rows["shop"]["resolved_errors"] == 1
    assert rows["shop"]["events"] == 13
    assert rows["billing"]["open_critical"] == 1


@pytest.mark.postgres
def test_developer_workload_counts_open_assignments(reporting_data):
    session, _ = reporting_data
    rows = {r["name"]: r for r in _rows(session, "developer_workload")}
    assert (rows["Ada"]["open_assigned"], rows["Ada"]["critical"], rows["Ada"]["unacknowledged"]) == (2, 2, 1)
    assert (rows["Bob"]["open_assigned"], rows["Bob"]["medium"], rows["Bob"]["critical"]) == (1, 1, 0)


@pytest.mark.postgres
def test_daily_trends_group_events_per_day_service_and_severity(reporting_data):
    session, _ = reporting_data
    rows = _rows(session, "daily_error_trends")
    today = dt.datetime.now(dt.UTC).date()
    by_key = {(r["day"], r["service"], r["severity"]): r for r in rows}
    assert by_key[(today, "shop", "critical")]["events"] == 3
    assert by_key[(today, "shop", "critical")]["users_affected"] == 2
    assert by_key[(today - dt.timedelta(days=2), "shop", "medium")]["events"] == 1
    assert len(rows) == 2
