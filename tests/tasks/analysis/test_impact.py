"""The impact score: severity weight x log2(1 + events) x log2(2 + users), kept on each error."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Severity
from db.models import Issue
from tasks.analysis.impact import impact_score, update_impact_scores
from tests.db.factories import make_issue, make_project
from tests.tasks.analysis.series import DAY, NOW


def test_the_formula() -> None:
    assert impact_score(0, 0, Severity.LOW) == 0.0
    assert impact_score(1, 0, Severity.LOW) == 1.0
    assert impact_score(15, 2, Severity.CRITICAL) == pytest.approx(8 * 4 * 2)
    assert impact_score(1023, 0, "medium") == pytest.approx(2 * 10)
    # Each doubling adds a step; a severity level is worth a lot of events.
    assert impact_score(100, 10, Severity.HIGH) > impact_score(100, 10, Severity.MEDIUM)
    assert impact_score(7, 0, Severity.HIGH) == pytest.approx(4 * 3 * math.log2(2))


def test_errors_are_ordered_by_impact(db_session: Session) -> None:
    project = make_project(db_session)
    widespread = make_issue(db_session, project, severity=Severity.HIGH, times_seen=100, users_affected=50)
    critical = make_issue(db_session, project, severity=Severity.CRITICAL, times_seen=10, users_affected=1)
    noisy = make_issue(db_session, project, severity=Severity.LOW, times_seen=1000, users_affected=0)
    untouched = make_issue(db_session, project, severity=Severity.LOW, times_seen=5, last_seen=NOW - 3 * DAY)

    assert update_impact_scores(db_session, seen_since=NOW - DAY) == 3
    db_session.expire_all()
    order = db_session.scalars(select(Issue.id).where(Issue.impact_score > 0).order_by(Issue.impact_score.desc()))
    assert list(order) == [widespread.id, critical.id, noisy.id]
    assert db_session.get(Issue, untouched.id).impact_score == 0.0  # type: ignore[union-attr]

    # Nothing changed: nothing written. The full pass (nightly) reaches the error not seen lately.
    assert update_impact_scores(db_session, seen_since=NOW - DAY) == 0
    assert update_impact_scores(db_session) == 1
    db_session.expire_all()
    assert db_session.get(Issue, untouched.id).impact_score == impact_score(5, 0, Severity.LOW)  # type: ignore[union-attr]


def test_the_score_update_leaves_updated_at_alone(db_session: Session) -> None:
    issue = make_issue(db_session, make_project(db_session), times_seen=3, updated_at=NOW - DAY)
    db_session.commit()
    update_impact_scores(db_session)
    db_session.commit()
    db_session.expire_all()
    issue = db_session.get(Issue, issue.id)  # type: ignore[assignment]
    assert issue.impact_score > 0 and issue.updated_at == NOW - DAY
