"""The busiest issues of a window, from the roll-ups, equal to counting the raw events whatever the data."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from db import top_issues as busiest
from db.models import Event
from db.rollups import Counted, count_events
from db.top_issues import top_issues
from tests.db.factories import make_issue, make_project

NOW = dt.datetime(2026, 11, 28, 19, 42, 10, 500_000, tzinfo=dt.UTC)


def _store(session: Session, events: list[tuple[int, int, dt.datetime]]) -> None:
    """Events (issue id, project id, received at) stored and counted, as the ingest writer does."""
    rows = [
        {
            "project_id": project_id,
            "issue_id": issue_id,
            "event_id": uuid.uuid4().hex,
            "timestamp": at,
            "received_at": at,
            "severity": "high",
        }
        for issue_id, project_id, at in events
    ]
    session.execute(insert(Event), rows)
    count_events(session, [Counted(issue_id, project_id, "high", at) for issue_id, project_id, at in events])
    session.commit()


def _counted_from_events(session: Session, start: dt.datetime, limit: int) -> list[tuple[int, int]]:
    n = func.count()
    rows = session.execute(
        select(Event.issue_id, n)
        .where(Event.received_at >= start)
        .group_by(Event.issue_id)
        .order_by(n.desc(), Event.issue_id.desc())
        .limit(limit)
    )
    return [(issue_id, count) for issue_id, count in rows]


def _seed(session: Session, rng: random.Random, *, issues: int, events: int, skew: float) -> None:
    project = make_project(session)
    ids = [make_issue(session, project).id for _ in range(issues)]
    weights = [1 / (rank + 1) ** skew for rank in range(issues)]
    span = 35 * 86400
    picked = rng.choices(ids, weights, k=events)
    _store(session, [(issue_id, project.id, NOW - dt.timedelta(seconds=rng.uniform(0, span))) for issue_id in picked])


WINDOWS = [
    dt.timedelta(minutes=59, seconds=10, microseconds=500_000),  # not on an hour: a raw part first
    dt.timedelta(hours=23, minutes=42, seconds=10, microseconds=500_000),  # from an hour, within a day and a bit
    dt.timedelta(days=6, hours=19, minutes=42, seconds=10, microseconds=500_000),
    dt.timedelta(days=29, hours=19, minutes=42, seconds=10, microseconds=500_000),  # from a midnight
    dt.timedelta(days=2, hours=3, minutes=17),  # not on an hour, across midnights
]


@pytest.mark.parametrize("skew", [1.2, 0.0], ids=["skewed", "flat"])
def test_busiest_issues_are_those_raw_events_give(db_session, skew):
    _seed(db_session, random.Random(7), issues=60, events=1500, skew=skew)
    for back in WINDOWS:
        start = NOW - back
        for limit in (1, 5, 10):
            assert top_issues(db_session, start, NOW, limit) == _counted_from_events(db_session, start, limit)


@pytest.mark.parametrize(("first", "most"), [(1, 4), (1, 1), (2, 1024)])
def test_deeper_rounds_and_the_grouped_fallback_agree(db_session, monkeypatch, first, most):
    """Tiny depths force several rounds (and past the last, the one grouped query) on ties and flat data."""
    monkeypatch.setattr(busiest, "FIRST_DEPTH", first)
    monkeypatch.setattr(busiest, "MAX_DEPTH", most)
    _seed(db_session, random.Random(3), issues=25, events=400, skew=0.0)
    for back in WINDOWS:
        start = NOW - back
        assert top_issues(db_session, start, NOW, 10) == _counted_from_events(db_session, start, 10)


def test_ties_rank_the_higher_id_first(db_session):
    project = make_project(db_session)
    low, high = make_issue(db_session, project).id, make_issue(db_session, project).id
    at = NOW - dt.timedelta(hours=2)
    _store(db_session, [(low, project.id, at), (high, project.id, at), (low, project.id, NOW)])
    assert top_issues(db_session, NOW - dt.timedelta(hours=3), NOW, 2) == [(low, 2), (high, 1)]
    assert top_issues(db_session, NOW - dt.timedelta(minutes=90), NOW, 2) == [(low, 1)]
    _store(db_session, [(high, project.id, NOW)])
    assert top_issues(db_session, NOW - dt.timedelta(hours=3), NOW, 1) == [(high, 2)]


def test_an_empty_window_has_no_busiest_issue(db_session):
    assert top_issues(db_session, NOW - dt.timedelta(days=30), NOW, 10) == []
