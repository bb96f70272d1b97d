"""After commit, the collector enqueues an alert when an issue is new, regressed, escalates or crosses a threshold."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import event, update

from collector.alerts import AlertDecider, AlertDue
from collector.storage import StoreOutcome
from db.models import Issue, Project
from db.session import make_session_factory
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event
from tests.db.factories import make_event as store_event
from tests.db.factories import make_issue, make_project


def send(collector, project_id, key, event):
    with collector.client() as client:
        response = client.post(f"/api/{project_id}/envelope/", content=make_envelope(event), headers=auth_header(key))
    assert response.status_code == 200, response.text
    return event["event_id"]


def triggers(collector) -> list[str]:
    return [alert.trigger for alert in collector.alerts]


def test_a_new_issue_alerts_once_and_repeats_do_not(collector):
    project_id, dsn, _ = collector.create_project()
    first = send(collector, project_id, key_of(dsn), make_event())
    send(collector, project_id, key_of(dsn), make_event())
    assert len(collector.alerts) == 1
    alert = collector.alerts[0]
    assert (alert.trigger, alert.event_id) == ("new", first)
    assert isinstance(alert, AlertDue) and alert.issue_id > 0


def test_an_event_on_a_resolved_issue_alerts_as_a_regression(collector):
    project_id, dsn, _ = collector.create_project()
    send(collector, project_id, key_of(dsn), make_event())
    with collector.session() as session:
        session.execute(update(Issue).values(status="resolved", resolved_at=dt.datetime.now(dt.UTC)))
        session.commit()
    send(collector, project_id, key_of(dsn), make_event())
    assert triggers(collector) == ["new", "regression"]
    with collector.session() as session:
        issue = session.query(Issue).one()
        assert (issue.status, issue.substatus, issue.is_regression) == ("unresolved", "regressed", True)


def test_a_more_severe_event_escalates_the_issue(collector):
    project_id, dsn, _ = collector.create_project()
    send(collector, project_id, key_of(dsn), make_event(level="warning"))
    send(collector, project_id, key_of(dsn), make_event(level="fatal"))
    send(collector, project_id, key_of(dsn), make_event(level="error"))
    assert triggers(collector) == ["new", "severity"]
    with collector.session() as session:
        assert session.query(Issue).one().severity == "critical"


def test_an_ignored_issue_stays_quiet_until_its_snooze_ends(collector):
    project_id, dsn, _ = collector.create_project()
    send(collector, project_id, key_of(dsn), make_event())
    with collector.session() as session:
        session.execute(update(Issue).values(status="ignored", snooze_event_limit=2, snooze_events_at_start=1))
        session.commit()
    send(collector, project_id, key_of(dsn), make_event(level="fatal"))  # counted, quiet
    assert triggers(collector) == ["new"]
    send(collector, project_id, key_of(dsn), make_event())  # the second event since the snooze wakes it
    assert triggers(collector) == ["new", "snooze_ended"]
    with collector.session() as session:
        assert session.query(Issue).one().status == "unresolved"


def test_a_threshold_alerts_once_when_crossed(collector):
    project_id, dsn, _ = collector.create_project()
    with collector.session() as session:
        session.execute(
            update(Project).where(Project.id == project_id).values(alert_threshold_events=3, alert_threshold_minutes=5)
        )
        session.commit()
    for _ in range(5):
        send(collector, project_id, key_of(dsn), make_event())
    assert triggers(collector) == ["new", "threshold"]


def test_a_project_above_its_events_per_minute_alerts_once_in_that_minute(collector):
    project_id, dsn, _ = collector.create_project()
    with collector.session() as session:
        session.execute(update(Project).where(Project.id == project_id).values(max_events_per_minute=3))
        session.commit()
    # The limit is per calendar minute: start early in one, so the five events fall in the same minute.
    if dt.datetime.now(dt.UTC).second >= 50:
        time.sleep(61 - dt.datetime.now(dt.UTC).second)
    start = dt.datetime.now(dt.UTC)
    for _ in range(5):
        send(collector, project_id, key_of(dsn), make_event())
    assert triggers(collector) == ["new", "threshold"]  # on the fourth event, and only then
    alert = collector.alerts[1]
    assert alert.event_id == f"rate-{project_id}-{start:%Y%m%d%H%M}"
    with collector.session() as session:
        assert alert.issue_id == session.query(Issue.id).scalar()


def test_a_minute_over_the_limit_is_not_counted_again_by_the_process_that_saw_it(db_session):
    """A flood's minute is counted until it goes over the limit, then no more: each later batch of that minute
    would otherwise count every event of it again."""
    project = make_project(db_session, max_events_per_minute=2)
    issue = make_issue(db_session, project)
    if dt.datetime.now(dt.UTC).second >= 50:  # the checks below must fall in one calendar minute
        time.sleep(61 - dt.datetime.now(dt.UTC).second)
    stored = [store_event(db_session, issue) for _ in range(3)]
    db_session.commit()
    decider = AlertDecider(make_session_factory(db_session.get_bind()), enqueue=lambda alert: None)

    def outcome(stored_event, times_seen: int) -> StoreOutcome:
        return StoreOutcome(project.id, stored_event.event_id, issue.id, stored=True, times_seen=times_seen)

    alerts = decider.decide([outcome(e, n) for n, e in enumerate(stored, 1)])
    assert [alert.trigger for alert in alerts] == ["threshold"]
    assert alerts[0].event_id.startswith(f"rate-{project.id}-")

    statements: list[str] = []
    engine = db_session.get_bind()

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    later = store_event(db_session, issue)
    db_session.commit()
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert decider.decide([outcome(later, 4)]) == []
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []


def test_an_issue_at_its_threshold_is_not_counted_again_within_its_window(db_session):
    """Counting a busy issue reads as many rows as its threshold; once seen at or over it, the issue cannot cross
    again before its window has passed, so later batches in that window do not count it."""
    project = make_project(db_session, alert_threshold_events=3, alert_threshold_minutes=5)
    issue, other = make_issue(db_session, project), make_issue(db_session, project)
    stored = [store_event(db_session, issue) for _ in range(3)]
    db_session.commit()
    decider = AlertDecider(make_session_factory(db_session.get_bind()), enqueue=lambda alert: None)

    def outcome(issue_id: int, stored_event, times_seen: int) -> StoreOutcome:
        return StoreOutcome(project.id, stored_event.event_id, issue_id, stored=True, times_seen=times_seen)

    alerts = decider.decide([outcome(issue.id, e, n) for n, e in enumerate(stored, 1)])
    assert [(alert.trigger, alert.issue_id) for alert in alerts] == [("threshold", issue.id)]

    statements: list[str] = []
    engine = db_session.get_bind()

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    later, elsewhere = store_event(db_session, issue), store_event(db_session, other)
    db_session.commit()
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert decider.decide([outcome(issue.id, later, 4)]) == []
        assert statements == []  # the issue at its threshold: nothing counted
        assert decider.decide([outcome(other.id, elsewhere, 1)]) == []  # one event of three: counted, under
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1


def test_an_issue_far_under_its_threshold_is_counted_only_once_it_may_have_reached_it(db_session):
    """Its last count plus the events it got since (times_seen) bounds its count: under the threshold, no need to
    count; at it, counted, and the batch that carried it over alerts."""
    project = make_project(db_session, alert_threshold_events=3, alert_threshold_minutes=5)
    issue = make_issue(db_session, project)
    decider = AlertDecider(make_session_factory(db_session.get_bind()), enqueue=lambda alert: None)
    statements: list[str] = []
    engine = db_session.get_bind()

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM events" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        decisions = []
        for times_seen in (1, 2, 3):
            stored_event = store_event(db_session, issue)
            db_session.commit()
            outcome = StoreOutcome(project.id, stored_event.event_id, issue.id, stored=True, times_seen=times_seen)
            decisions.append(([alert.trigger for alert in decider.decide([outcome])], len(statements)))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # Counted (1 event), not counted (at most 1 + 1), counted (at most 1 + 2 = 3) and over.
    assert decisions == [([], 1), ([], 1), (["threshold"], 2)]
