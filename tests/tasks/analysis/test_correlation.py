"""Correlated errors: errors of different services in the same minutes are one pattern; independent ones are not."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import PatternKind
from db.models import Pattern
from tasks.analysis.correlation import jaccard
from tasks.analysis.params import AnalysisParams
from tasks.analysis.run import detect_patterns
from tests.db.factories import make_issue, make_project
from tests.tasks.analysis.series import LONG_AGO, NOW, add_events

MINUTE = dt.timedelta(minutes=1)


def at_minutes(minutes: list[int], per_minute: int = 2) -> list[dt.datetime]:
    """Events at these minutes before NOW (a few seconds apart within each minute)."""
    start = NOW.replace(second=0) - dt.timedelta(minutes=60)
    return [start + m * MINUTE + dt.timedelta(seconds=5 * i) for m in minutes for i in range(per_minute)]


def correlated(session: Session) -> list[Pattern]:
    detect_patterns(session, NOW, AnalysisParams())
    return list(
        session.scalars(select(Pattern).where(Pattern.kind == PatternKind.CORRELATED, Pattern.is_active.is_(True)))
    )


def test_jaccard() -> None:
    a = {NOW + m * MINUTE for m in range(10)}
    b = {NOW + m * MINUTE for m in range(5, 15)}
    assert jaccard(a, b) == 5 / 15
    assert jaccard(a, a) == 1.0 and jaccard(set(), set()) == 0.0


def test_errors_of_different_services_in_the_same_minutes_are_one_pattern(db_session: Session) -> None:
    db = make_project(db_session, name="orders")
    api = make_project(db_session, name="gateway")
    other = make_project(db_session, name="search")
    outage = [3, 4, 5, 6, 7, 20, 21, 22, 40, 41]
    orders = make_issue(db_session, db, title="OperationalError: connection refused", first_seen=LONG_AGO)
    gateway = make_issue(db_session, api, title="HTTP 502 from orders", first_seen=LONG_AGO)
    # Mostly the same minutes, one more and one less: still correlated.
    gateway_minutes = [*outage[1:], 42]
    independent = make_issue(db_session, other, title="Timeout in search", first_seen=LONG_AGO)
    add_events(db_session, orders, at_minutes(outage, per_minute=5))
    add_events(db_session, gateway, at_minutes(gateway_minutes, per_minute=3))
    add_events(db_session, independent, at_minutes([10, 12, 14, 30, 32, 34, 50, 52]))

    [pattern] = correlated(db_session)
    assert pattern.issue_id == orders.id  # the busiest is the main error
    assert sorted(link.issue_id for link in pattern.issues) == sorted([orders.id, gateway.id])
    assert pattern.description == (
        "2 errors in 2 services (gateway, orders) happen in the same minutes: "
        "'OperationalError: connection refused' (orders), 'HTTP 502 from orders' (gateway)"
    )
    assert pattern.score == round(9 / 11, 3)
    assert pattern.details is not None and pattern.details["shared_minutes"] == 9


def test_independent_errors_are_not_correlated(db_session: Session) -> None:
    rng = random.Random(7)
    issues = []
    for name in ("a", "b", "c", "d"):
        project = make_project(db_session, name=f"service-{name}")
        issue = make_issue(db_session, project, first_seen=LONG_AGO)
        add_events(db_session, issue, at_minutes(sorted(rng.sample(range(60), 12))))
        issues.append(issue)
    assert correlated(db_session) == []


def test_errors_of_one_service_are_not_correlated_with_each_other(db_session: Session) -> None:
    project = make_project(db_session, name="orders")
    for _ in range(2):
        add_events(db_session, make_issue(db_session, project, first_seen=LONG_AGO), at_minutes(list(range(10))))
    assert correlated(db_session) == []


def test_a_third_service_joining_the_outage_joins_the_pattern(db_session: Session) -> None:
    minutes = list(range(0, 30, 3))
    issues = []
    for name, per_minute in (("orders", 6), ("gateway", 4), ("mobile", 2)):
        project = make_project(db_session, name=name)
        issue = make_issue(db_session, project, title=f"{name} failure", first_seen=LONG_AGO)
        add_events(db_session, issue, at_minutes(minutes, per_minute=per_minute))
        issues.append(issue)
    [pattern] = correlated(db_session)
    assert sorted(link.issue_id for link in pattern.issues) == sorted(i.id for i in issues)
    assert pattern.description.startswith("3 errors in 3 services (gateway, mobile, orders)")


def test_the_pattern_follows_its_group_as_errors_join(db_session: Session) -> None:
    minutes = list(range(0, 30, 3))
    orders = make_issue(db_session, make_project(db_session, name="orders"), first_seen=LONG_AGO)
    gateway = make_issue(db_session, make_project(db_session, name="gateway"), first_seen=LONG_AGO)
    add_events(db_session, orders, at_minutes(minutes, per_minute=6))
    add_events(db_session, gateway, at_minutes(minutes, per_minute=4))
    [first] = correlated(db_session)

    mobile = make_issue(db_session, make_project(db_session, name="mobile"), first_seen=LONG_AGO)
    add_events(db_session, mobile, at_minutes(minutes, per_minute=2))
    [again] = correlated(db_session)
    assert again.id == first.id  # the same main error: the same pattern, updated
    assert sorted(link.issue_id for link in again.issues) == sorted([orders.id, gateway.id, mobile.id])


def test_errors_failing_in_most_minutes_are_not_correlated_by_chance(db_session: Session) -> None:
    # Two background errors, each in 45 of the 60 minutes, independently: they share about 34 minutes (a Jaccard
    # index near 0.6) only because both are nearly always there.
    rng = random.Random(3)
    for name in ("orders", "gateway"):
        issue = make_issue(db_session, make_project(db_session, name=name), first_seen=LONG_AGO)
        add_events(db_session, issue, at_minutes(sorted(rng.sample(range(60), 45))))
    assert correlated(db_session) == []
