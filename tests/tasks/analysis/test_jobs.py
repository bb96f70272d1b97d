"""The analysis's periodic tasks: scheduled by the consumer's module, and each one doing its work when run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import IssueSubstatus, PatternKind, Severity
from db.models import DailyStat, Issue, Pattern
from db.types import utcnow
from errlog.settings import Settings
from tasks.analysis import jobs
from tasks.main import huey
from tests.db.factories import make_event, make_issue, make_project


@pytest.mark.parametrize(
    ("at", "due"),
    [
        (dt.datetime(2026, 11, 21, 0, 20), {"detect_patterns", "roll_up_yesterday"}),
        (dt.datetime(2026, 11, 21, 13, 0), {"detect_patterns", "check_event_rates"}),
        (dt.datetime(2026, 11, 21, 13, 5), {"detect_patterns"}),
        (dt.datetime(2026, 11, 21, 13, 10), {"detect_patterns", "roll_up_today"}),
        (dt.datetime(2026, 11, 21, 13, 11), set()),
    ],
)
def test_the_consumer_schedules_the_analysis(at: dt.datetime, due: set[str]) -> None:
    analysis = {"detect_patterns", "roll_up_today", "roll_up_yesterday", "check_event_rates"}
    assert {task.name for task in huey.read_periodic(at)} & analysis == due


def test_the_jobs_run_on_the_configured_database(db_session: Session, configure_tasks: Callable[..., Settings]) -> None:
    configure_tasks(pattern_recurring_days=2)
    project = make_project(db_session, name="shop")
    regressed = make_issue(db_session, project, severity=Severity.HIGH, substatus=IssueSubstatus.REGRESSED,
                           is_regression=True, times_seen=4)  # fmt: skip
    make_event(db_session, regressed)
    recurring = make_issue(db_session, project, severity=Severity.LOW)
    make_event(db_session, recurring, received_at=utcnow() - dt.timedelta(days=1))
    make_event(db_session, recurring, received_at=utcnow() - dt.timedelta(days=2))
    db_session.commit()

    jobs.detect_patterns.call_local()
    jobs.roll_up_today.call_local()
    jobs.roll_up_yesterday.call_local()

    db_session.expire_all()
    kinds = {(p.kind, p.issue_id) for p in db_session.scalars(select(Pattern).where(Pattern.is_active.is_(True)))}
    # The recurring error passed the setting's two days (the default three would not).
    assert {(PatternKind.REGRESSION, regressed.id), (PatternKind.RECURRING, recurring.id)} <= kinds
    assert db_session.scalar(select(Issue.impact_score).where(Issue.id == regressed.id)) > 0
    days = set(db_session.scalars(select(DailyStat.day)))
    assert days == {utcnow().date(), utcnow().date() - dt.timedelta(days=1)}
