"""The schema's constraints hold on every backend."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from db.enums import IssueStatus, Severity
from db.models import Event, Issue, OncallOverride, OncallSchedule, Project
from tests.db.factories import make_developer, make_event, make_issue, make_project


def test_fingerprint_is_unique_per_project(db_session):
    shop, billing = make_project(db_session), make_project(db_session)
    make_issue(db_session, shop, fingerprint="f" * 64)
    make_issue(db_session, billing, fingerprint="f" * 64)  # same fingerprint, other project: fine
    with pytest.raises(IntegrityError):
        make_issue(db_session, shop, fingerprint="f" * 64)


def test_event_id_is_unique_per_project(db_session):
    issue = make_issue(db_session, make_project(db_session))
    make_event(db_session, issue, event_id="a" * 32)
    with pytest.raises(IntegrityError):
        make_event(db_session, issue, event_id="a" * 32)


def test_same_event_id_in_another_project_is_a_different_event(db_session):
    first = make_issue(db_session, make_project(db_session))
    second = make_issue(db_session, make_project(db_session))
    make_event(db_session, first, event_id="b" * 32)
    make_event(db_session, second, event_id="b" * 32)
    assert db_session.scalar(select(text("count(*)")).select_from(Event)) == 2


def test_database_rejects_a_severity_outside_the_vocabulary(db_session):
    issue = make_issue(db_session, make_project(db_session))
    db_session.commit()
    with pytest.raises(IntegrityError):
        db_session.execute(text("UPDATE issues SET severity = 'apocalyptic' WHERE id = :id"), {"id": issue.id})


def test_orm_rejects_an_unknown_status_before_sending_it(db_session):
    project = make_project(db_session)
    db_session.add(Issue(project_id=project.id, fingerprint="x", title="t", status="bogus"))
    with pytest.raises(StatementError):
        db_session.flush()


def test_deleting_a_project_removes_its_issues_and_events(db_session):
    project = make_project(db_session)
    make_event(db_session, make_issue(db_session, project))
    db_session.commit()
    db_session.execute(text("DELETE FROM projects WHERE id = :id"), {"id": project.id})
    db_session.commit()
    assert db_session.scalars(select(Issue)).all() == []
    assert db_session.scalars(select(Event)).all() == []


def test_deleting_a_developer_unassigns_their_issues(db_session):
    developer = make_developer(db_session)
    issue = make_issue(db_session, make_project(db_session), assignee_id=developer.id)
    db_session.commit()
    db_session.execute(text("DELETE FROM developers WHERE id = :id"), {"id": developer.id})
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Issue, issue.id).assignee_id is None


def test_timestamps_come_back_aware_and_in_utc(db_session):
    berlin = dt.datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    issue = make_issue(db_session, make_project(db_session), last_seen=berlin)
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get(Issue, issue.id).last_seen
    assert stored.tzinfo is not None and stored.utcoffset() == dt.timedelta(0)
    assert stored == berlin


def test_naive_datetimes_are_refused(db_session):
    with pytest.raises(StatementError, match="naive datetime"):
        make_issue(db_session, make_project(db_session), last_seen=dt.datetime(2026, 1, 1))


def test_an_override_must_end_after_it_starts(db_session):
    project = make_project(db_session)
    developer = make_developer(db_session)
    schedule = OncallSchedule(name="primary", project_id=project.id)
    db_session.add(schedule)
    db_session.flush()
    start = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    db_session.add(OncallOverride(schedule_id=schedule.id, developer_id=developer.id, starts_at=start, ends_at=start))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_a_schedule_needs_a_project_or_a_team(db_session):
    db_session.add(OncallSchedule(name="nobody's"))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_queue_query_orders_by_severity_then_recency(db_session):
    project = make_project(db_session)
    now = dt.datetime.now(dt.UTC)
    low = make_issue(db_session, project, severity=Severity.LOW, last_seen=now)
    old_critical = make_issue(db_session, project, severity=Severity.CRITICAL, last_seen=now - dt.timedelta(hours=2))
    new_critical = make_issue(db_session, project, severity=Severity.CRITICAL, last_seen=now)
    make_issue(db_session, project, severity=Severity.CRITICAL, status=IssueStatus.RESOLVED)
    rows = db_session.scalars(
        select(Issue)
        .where(Issue.status.in_([IssueStatus.UNRESOLVED, IssueStatus.ACKNOWLEDGED]))
        .order_by(Issue.severity_rank, Issue.last_seen.desc())
    ).all()
    assert [r.id for r in rows] == [new_critical.id, old_critical.id, low.id]


def test_project_name_is_unique(db_session):
    make_project(db_session, "shop")
    with pytest.raises(IntegrityError):
        db_session.add(Project(name="shop"))
        db_session.flush()
