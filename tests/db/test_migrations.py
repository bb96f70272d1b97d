"""Migrations build the whole schema from empty on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, Integer, MetaData, Table, func, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError, SAWarning
from sqlalchemy.orm import load_only
from sqlalchemy.schema import CreateIndex

import db.models  # noqa: F401
from collector import grouping
from collector.storage import store_batch
from db.base import Base
from db.enums import IssueStatus, Severity
from db.migrate import current_revision, downgrade, head_revision, upgrade
from db.models import (
    Event,
    Issue,
    IssueDailyCount,
    IssueHourlyCount,
    Project,
    ProjectDailyCount,
    ProjectHourlyCount,
    SeverityHourlyCount,
)
from db.models.projects import NEW_PROJECT_GROUPING_VERSION
from db.session import SchemaOutOfDate, create_db_engine, make_session_factory, open_database
from db.types import JsonText
from tests.collector.factories import prepared_event
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


def _expression_indexes() -> dict[str, Index]:
    """The models' indexes on an expression rather than on columns (a column in descending order is a column)."""
    return {
        index.name: index
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(getattr(e, "element", e), Column) for e in index.expressions) and index.name
    }


EXPRESSION_INDEXES = _expression_indexes()
TRIGRAM_INDEXES = {"ix_issues_title_trgm", "ix_issues_culprit_trgm", "ix_issues_exception_type_trgm"}


def test_migrated_schema_matches_the_models(empty_database_url):
    engine = create_db_engine(empty_database_url)
    upgrade(engine)

    # compare_metadata cannot compare indexes on expressions: SQLAlchemy does not reflect them from SQLite (it warns
    # and skips them, then alembic warns that it skips them too), and alembic's normalisation trips over the line
    # breaks in PostgreSQL's rendering of a CASE. They are left out here, and test_expression_indexes_match_the_models
    # checks them instead.
    # The trigram indexes of migration 0005 are optional (only where pg_trgm can be created): not on the models.
    def include(obj, name, type_, reflected, compare_to):
        return not (type_ == "index" and (name in EXPRESSION_INDEXES or name in TRIGRAM_INDEXES))

    with engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based", UserWarning)
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: run alembic revision --autogenerate"


def _normalised(sql: str) -> str:
    """Index SQL without what each backend adds or drops when it stores it: case, quotes, casts, spaces, brackets."""
    sql = re.sub(r"::(character varying|double precision|[a-z_]+)(\[\])?", "", sql.lower())
    return re.sub(r"[\s\"()]|public\.|usingbtree", "", sql)


def test_expression_indexes_match_the_models(empty_database_url):
    assert {"ix_issues_severity_queue", "ix_issues_open_assigned"} <= set(EXPRESSION_INDEXES)
    engine = create_db_engine(empty_database_url)
    upgrade(engine)
    with engine.connect() as conn:
        for name, index in EXPRESSION_INDEXES.items():
            if conn.dialect.name == "sqlite":
                stored = conn.scalar(
                    text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"), {"n": name}
                )
                assert stored is not None, f"{name} is missing"
                assert _normalised(stored) == _normalised(str(CreateIndex(index).compile(dialect=conn.dialect)))
                continue
            # PostgreSQL rewrites the WHERE of a partial index beyond recognition: compare the indexed expressions.
            stored_keys = conn.scalars(
                text(
                    "SELECT pg_get_indexdef(i.indexrelid, k, true) FROM pg_index i "
                    "CROSS JOIN generate_series(1, i.indnkeyatts) AS k WHERE i.indexrelid = to_regclass(:n) ORDER BY k"
                ),
                {"n": name},
            ).all()
            assert stored_keys, f"{name} is missing"
            model_keys = [
                str(getattr(e, "element", e).compile(dialect=conn.dialect, compile_kwargs={"include_table": False}))
                for e in index.expressions  # the order (DESC) is not part of the key
            ]
            assert [_normalised(k) for k in stored_keys] == [_normalised(k) for k in model_keys]
    engine.dispose()


def test_downgrade_to_base_and_back(empty_database_url):
    engine = create_db_engine(empty_database_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def _projects_as_in_0001() -> Any:
    """The projects table with only the columns 0001 made (the model's Python defaults would add later ones)."""
    columns = ("name", "scrub_ip_addresses", "scrub_emails", "created_at")
    own = (Column(name, Project.__table__.c[name].type) for name in columns)
    return Table("projects", MetaData(), Column("id", Integer, primary_key=True), *own)


def _old_project(session: Any, name: str = "checkout", created_at: dt.datetime | None = None) -> Project:
    """A project inserted with 0001's columns only, for a schema migrated to before 0008, its id alone loaded."""
    values = {"scrub_ip_addresses": False, "scrub_emails": False, "created_at": created_at or dt.datetime.now(dt.UTC)}
    project_id = session.execute(insert(_projects_as_in_0001()).values(name=name, **values)).inserted_primary_key[0]
    return session.get(Project, project_id, options=[load_only(Project.id)])


def test_upgrade_to_0008_keeps_existing_projects_on_grouping_v1_and_starts_new_ones_on_the_newest(empty_database_url):
    engine = create_db_engine(empty_database_url)
    upgrade(engine, "0007")
    with make_session_factory(engine)() as session:
        project = _old_project(session, "old")
        old = project.id
        make_event(session, make_issue(session, project), counted=False)  # 0007 has no per-minute counts
        session.commit()
    upgrade(engine)
    with make_session_factory(engine)() as session:
        # Adding the column must not copy and drop the table: on SQLite that drop cascades to every issue and event.
        assert (session.scalar(select(func.count(Issue.id))), session.scalar(select(func.count(Event.id)))) == (1, 1)
        new = Project(name="new")
        session.add(new)
        session.commit()
        versions = dict(session.execute(select(Project.name, Project.grouping_version)).all())
        assert session.get(Project, old) is not None
    engine.dispose()
    assert versions == {"old": 1, "new": NEW_PROJECT_GROUPING_VERSION}
    assert NEW_PROJECT_GROUPING_VERSION == grouping.CURRENT_VERSION


def test_upgrade_to_0003_fills_the_rollups_from_stored_events(empty_database_url):
    engine = create_db_engine(empty_database_url)
    upgrade(engine, "0002")
    late = dt.datetime(2026, 11, 28, 23, 59, 59, 999_999, tzinfo=dt.UTC)
    times = [late, late - dt.timedelta(minutes=59), late - dt.timedelta(hours=1), late + dt.timedelta(microseconds=1)]
    with make_session_factory(engine)() as session:
        project = _old_project(session, created_at=late)
        busy, quiet = make_issue(session, project), make_issue(session, project, severity=Severity.LOW)
        rows = [(busy, at) for at in times] + [(quiet, late)]
        session.execute(
            insert(Event.__table__),
            [
                {
                    "project_id": project.id,
                    "issue_id": issue.id,
                    "event_id": f"{n:032x}",
                    "timestamp": at,
                    "received_at": at,
                    "severity": issue.severity,
                    "source": "sentry",
                    "size_bytes": 0,
                }
                for n, (issue, at) in enumerate(rows)
            ],
        )
        session.commit()
        ids = (busy.id, quiet.id, project.id)
    upgrade(engine)
    busy_id, quiet_id, project_id = ids
    h23, h22 = dt.datetime(2026, 11, 28, 23, tzinfo=dt.UTC), dt.datetime(2026, 11, 28, 22, tzinfo=dt.UTC)
    day, next_day = dt.datetime(2026, 11, 28, tzinfo=dt.UTC), dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    with make_session_factory(engine)() as session:
        hourly = set(session.execute(select(IssueHourlyCount.issue_id, IssueHourlyCount.hour, IssueHourlyCount.events)))
        daily = set(session.execute(select(IssueDailyCount.issue_id, IssueDailyCount.day, IssueDailyCount.events)))
        by_project = set(session.execute(select(*ProjectDailyCount.__table__.c)))
        project_hours = session.scalar(select(func.sum(ProjectHourlyCount.events)))
        # 0005 fills the per-severity hours from the per-project ones.
        by_severity = set(session.execute(select(*SeverityHourlyCount.__table__.c)))
    engine.dispose()
    assert hourly == {(busy_id, h23, 2), (busy_id, h22, 1), (busy_id, next_day, 1), (quiet_id, h23, 1)}
    assert daily == {(busy_id, day, 3), (busy_id, next_day, 1), (quiet_id, day, 1)}
    assert by_project == {
        (day, project_id, Severity.HIGH, 3),
        (next_day, project_id, Severity.HIGH, 1),
        (day, project_id, Severity.LOW, 1),
    }
    assert project_hours == len(rows)
    assert by_severity == {
        (h23, Severity.HIGH, 2),
        (h22, Severity.HIGH, 1),
        (next_day, Severity.HIGH, 1),
        (h23, Severity.LOW, 1),
    }


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


@pytest.mark.postgres
def test_postgres_gets_trigram_indexes_that_answer_a_substring_search(postgres_admin_url):
    with temporary_postgres_database(postgres_admin_url) as url:
        engine = create_db_engine(url)
        upgrade(engine)
        with engine.connect() as conn:
            methods = dict(
                conn.execute(
                    text(
                        "SELECT c.relname, am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
                        "WHERE c.relname LIKE 'ix_issues_%_trgm'"
                    )
                ).all()
            )
            assert methods == dict.fromkeys(TRIGRAM_INDEXES, "gin")
            # Tiny tables are read whole whatever the indexes: forbid that to see that the search can use them.
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(
                conn.scalars(
                    text(
                        "EXPLAIN SELECT id FROM issues WHERE title ILIKE '%zzqx%' OR culprit ILIKE '%zzqx%' "
                        "OR exception_type ILIKE '%zzqx%'"
                    )
                )
            )
        assert all(name in plan for name in TRIGRAM_INDEXES), plan
        downgrade(engine, "0004")
        assert not {i["name"] for i in inspect(engine).get_indexes("issues")} & TRIGRAM_INDEXES
        engine.dispose()


@pytest.mark.postgres
def test_postgres_compresses_new_payloads_with_lz4_where_it_can(postgres_admin_url):
    def compression(engine) -> str | None:
        with engine.connect() as conn:
            return conn.scalar(
                text(
                    "SELECT attcompression FROM pg_attribute "
                    "WHERE attrelid = 'events'::regclass AND attname = 'payload'"
                )
            )

    with temporary_postgres_database(postgres_admin_url) as url:
        engine = create_db_engine(url)
        with engine.connect() as conn:
            try:
                conn.execute(text("CREATE TEMPORARY TABLE probe (doc jsonb COMPRESSION lz4)"))
                has_lz4 = True
            except DBAPIError:  # PostgreSQL before 14, or built without lz4
                has_lz4 = False
        upgrade(engine)
        # '' is the server's default (pglz), 'l' lz4: servers without lz4 keep the default and still migrate.
        assert compression(engine) == ("l" if has_lz4 else "")
        downgrade(engine, "0005")
        assert compression(engine) == ""
        engine.dispose()


@pytest.mark.postgres
def test_postgres_keeps_payloads_as_json_text_and_migrates_stored_ones_both_ways(postgres_admin_url):
    payload = {"zeta": 1, "alpha": {"nested": [1, 2.5, None, "ü"]}, "b": "x" * 5000}

    def column(engine) -> tuple[str, str]:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT format_type(atttypid, atttypmod), attcompression FROM pg_attribute "
                    "WHERE attrelid = 'events'::regclass AND attname = 'payload'"
                )
            ).one()
            return row[0], row[1]

    def stored(engine) -> dict:
        with make_session_factory(engine)() as session:
            return session.scalars(select(Event.payload)).one()

    with temporary_postgres_database(postgres_admin_url) as url:
        engine = create_db_engine(url)
        upgrade(engine, "0006")  # the models' columns are 0006's, only the payload's type differs
        with make_session_factory(engine)() as session:
            make_event(session, make_issue(session, _old_project(session)), payload=payload, counted=False)
            session.commit()
        assert column(engine)[0] == "jsonb"
        upgrade(engine)
        lz4 = column(engine)[1]
        assert column(engine)[0] == "json"
        assert stored(engine) == payload  # the document stored as jsonb reads back the same as json
        downgrade(engine, "0006")
        assert column(engine) == ("jsonb", lz4)
        assert stored(engine) == payload
        engine.dispose()


@pytest.mark.postgres
def test_postgres_leaves_a_large_events_table_as_jsonb_says_how_to_convert_and_still_stores(postgres_admin_url, caplog):
    with temporary_postgres_database(postgres_admin_url) as url:
        engine = create_db_engine(url)
        upgrade(engine, "0006")
        with make_session_factory(engine)() as session:
            issue = make_issue(session, _old_project(session))
            session.commit()
            session.execute(
                text(
                    "INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, severity, payload, "
                    "source, size_bytes) "
                    "SELECT :project, :issue, md5(g::text), now(), now(), 'high', '{}', 'sentry', 2 "
                    "FROM generate_series(1, 250001) AS g"  # one past the largest table 0007 rewrites
                ),
                {"project": issue.project_id, "issue": issue.id},
            )
            session.commit()
        with caplog.at_level("WARNING"):
            upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            kind = conn.scalar(
                text(
                    "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = "
                    "'events'::regclass AND attname = 'payload'"
                )
            )
        assert kind == "jsonb"
        assert "ALTER TABLE events ALTER COLUMN payload TYPE json USING payload::json" in caplog.text
        # The collector's json payloads go into the jsonb column all the same.
        with make_session_factory(engine)() as session:
            outcome = store_batch(
                session,
                [prepared_event(issue.project_id, payload_json=JsonText('{"a": [1]}'))],
                now=dt.datetime.now(dt.UTC),
            )[0]
            session.commit()
            stored = session.scalars(select(Event.payload).where(Event.event_id == outcome.event_id)).one()
        assert outcome.stored and stored == {"a": [1]}
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
