"""The counts the collector's alert decisions read after each batch: a project's events in the current minute (one
roll-up row) and an issue's events in its threshold's window (counted up to a cap), so that a flood costs each batch
no more than the decision needs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from db.enums import IssueStatus
from db.event_rates import events_in_minute, issue_window_events
from tests.db.factories import make_event, make_issue, make_project

NOW = dt.datetime(2026, 11, 30, 3, 0, 30, tzinfo=dt.UTC)


def test_events_in_minute_reads_each_projects_minute_as_the_writer_counted_it(db_session):
    busy, quiet, silent = (make_project(db_session) for _ in range(3))
    busy_issue, quiet_issue = make_issue(db_session, busy), make_issue(db_session, quiet)
    minute = NOW.replace(second=0)
    for seconds in range(10):
        make_event(db_session, busy_issue, received_at=minute + dt.timedelta(seconds=seconds * 5))
    make_event(db_session, busy_issue, received_at=minute - dt.timedelta(seconds=1))  # the minute before
    make_event(db_session, busy_issue, received_at=minute + dt.timedelta(minutes=1))  # the minute after
    for _ in range(2):
        make_event(db_session, quiet_issue, received_at=minute + dt.timedelta(seconds=59))
    db_session.commit()

    counts = events_in_minute(db_session, [busy.id, quiet.id, silent.id], minute)
    assert counts == {busy.id: 10, quiet.id: 2}
    assert events_in_minute(db_session, [busy.id], minute - dt.timedelta(minutes=1)) == {busy.id: 1}
    assert events_in_minute(db_session, [], minute) == {}


def test_issue_window_events_gives_each_issue_its_status_and_capped_count_in_one_statement(db_session):
    project = make_project(db_session)
    loud = make_issue(db_session, project)
    ignored = make_issue(db_session, project, status=IssueStatus.IGNORED)
    for minutes in range(6):
        make_event(db_session, loud, received_at=NOW - dt.timedelta(minutes=minutes))
        make_event(db_session, ignored, received_at=NOW - dt.timedelta(minutes=minutes))
    db_session.commit()
    statements: list[str] = []
    engine = db_session.get_bind()

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        recent = issue_window_events(db_session, [loud.id, ignored.id], NOW - dt.timedelta(minutes=2, seconds=30), 100)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert recent == {loud.id: (IssueStatus.UNRESOLVED, 3), ignored.id: (IssueStatus.IGNORED, 3)}
    assert len(statements) == 1

    # Six in the last hour, counted up to four.
    hour = issue_window_events(db_session, [loud.id, ignored.id], NOW - dt.timedelta(hours=1), 4)
    assert hour == {loud.id: (IssueStatus.UNRESOLVED, 4), ignored.id: (IssueStatus.IGNORED, 4)}
    assert issue_window_events(db_session, [], NOW, 4) == {}
