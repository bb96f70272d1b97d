"""store_batch writes what each batch changed of its issues back to their rows: counts, times, releases, states."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from sqlalchemy import select, update

from collector import storage
from collector.pipeline import PreparedEvent
from collector.storage import store_batch
from db.issue_state import Transition
from db.models import Issue
from db.types import JsonText
from tests.db.factories import make_project

AT = dt.datetime(2026, 11, 28, 22, 0, tzinfo=dt.UTC)


def _prepared(project_id: int, at: dt.datetime, **fields: object) -> PreparedEvent:
    event = PreparedEvent(
        project_id=project_id,
        event_id=uuid.uuid4().hex,
        fingerprint="f" * 32,
        grouping_version=1,
        title="ValueError: bad input",
        culprit="app.views in handle",
        exception_type="ValueError",
        platform="python",
        level="error",
        severity="medium",
        environment="production",
        release=None,
        timestamp=at,
        received_at=at,
        message=None,
        user_key=None,
        tags={"env": "production"},
        payload_json=JsonText("{}"),
        source="sentry",
        size_bytes=10,
    )
    return dataclasses.replace(event, **fields)


def test_counts_times_releases_and_severity_of_each_batch_reach_the_row(db_session):
    project = make_project(db_session)
    first = [
        _prepared(project.id, AT + dt.timedelta(minutes=5), user_key="u1", release="1.0"),
        _prepared(project.id, AT, user_key="u2", release="0.9", environment="staging"),
    ]
    outcomes = store_batch(db_session, first, now=AT + dt.timedelta(minutes=6))
    db_session.commit()
    assert outcomes[0].transitions == {Transition.NEW}
    later = AT + dt.timedelta(hours=1)
    second = [
        _prepared(project.id, later, user_key="u1", release="1.1", severity="critical", environment="canary"),
        _prepared(project.id, later - dt.timedelta(minutes=1), user_key="u3", release="1.0"),
    ]
    outcomes = store_batch(db_session, second, now=later)
    db_session.commit()
    assert outcomes[0].transitions == {Transition.SEVERITY_ESCALATED}

    db_session.expire_all()
    issue = db_session.scalars(select(Issue).where(Issue.project_id == project.id)).one()
    assert (issue.times_seen, issue.users_affected) == (4, 3)
    assert (issue.first_seen, issue.last_seen, issue.updated_at) == (AT, later, later)
    assert (issue.first_release, issue.last_release, issue.last_environment) == ("1.0", "1.1", "canary")
    assert (issue.severity, issue.status, issue.substatus) == ("critical", "unresolved", "ongoing")


def test_a_regression_reopens_the_row_and_clears_its_resolution(db_session):
    project = make_project(db_session)
    issue_id = store_batch(db_session, [_prepared(project.id, AT, release="1.0")], now=AT)[0].issue_id
    db_session.execute(
        update(Issue)
        .where(Issue.id == issue_id)
        .values(status="resolved", substatus=None, resolved_at=AT, resolved_in_release="1.0", acknowledged_by="amy")
    )
    db_session.commit()
    later = AT + dt.timedelta(days=1)
    outcomes = store_batch(db_session, [_prepared(project.id, later, release="1.1")], now=later)
    db_session.commit()
    assert outcomes[0].transitions == {Transition.REGRESSED}

    db_session.expire_all()
    issue = db_session.get_one(Issue, issue_id)
    assert (issue.status, issue.substatus, issue.is_regression) == ("unresolved", "regressed", True)
    assert (issue.resolved_at, issue.resolved_in_release, issue.acknowledged_by) == (None, None, None)
    assert issue.times_seen == 2


def test_an_issue_whose_events_were_all_retries_is_not_touched(db_session):
    project = make_project(db_session)
    event = _prepared(project.id, AT)
    store_batch(db_session, [event], now=AT)
    db_session.commit()
    later = AT + dt.timedelta(hours=2)
    outcomes = store_batch(db_session, [event], now=later)
    db_session.commit()
    assert not outcomes[0].stored

    db_session.expire_all()
    issue = db_session.scalars(select(Issue).where(Issue.project_id == project.id)).one()
    assert (issue.times_seen, issue.updated_at) == (1, AT)


def test_an_issue_another_collector_created_meanwhile_is_used_and_not_new(db_session, monkeypatch):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite inserts a batch's issues before it reads them: its writers take turns")
    project = make_project(db_session)
    store_batch(db_session, [_prepared(project.id, AT)], now=AT)
    db_session.commit()
    # As if the other collector committed the issue just after this batch looked for it.
    lock_issues = storage._lock_issues
    calls = iter([[], None])
    monkeypatch.setattr(storage, "_lock_issues", lambda *args: next(calls) or lock_issues(*args))

    outcomes = store_batch(db_session, [_prepared(project.id, AT + dt.timedelta(minutes=1))], now=AT)
    db_session.commit()
    assert outcomes[0].stored and outcomes[0].transitions == set()
    db_session.expire_all()
    issue = db_session.scalars(select(Issue).where(Issue.project_id == project.id)).one()
    assert (issue.id, issue.times_seen) == (outcomes[0].issue_id, 2)
