"""The nightly retention task, run as the worker runs it, on the configured retention period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Event, Issue
from db.types import utcnow
from errlog.settings import Settings
from tasks.main import huey
from tasks.retention import prune_old_data
from tests.db.factories import make_event, make_issue, make_project


def test_the_task_deletes_events_past_the_configured_retention(
    db_session: Session, configure_tasks: Callable[..., Settings]
) -> None:
    configure_tasks(retention_days=30)
    issue = make_issue(db_session, make_project(db_session), times_seen=2)
    make_event(db_session, issue, received_at=utcnow() - dt.timedelta(days=31))
    young = make_event(db_session, issue, received_at=utcnow() - dt.timedelta(days=29)).event_id
    db_session.commit()

    prune_old_data()

    db_session.expire_all()
    assert list(db_session.scalars(select(Event.event_id))) == [young]
    assert db_session.get_one(Issue, issue.id).times_seen == 2


def test_the_worker_runs_it_once_a_night() -> None:
    def due(at: dt.datetime) -> set[str]:
        return {task.name for task in huey.read_periodic(at)}

    assert "prune_old_data" in due(dt.datetime(2026, 6, 1, 3, 17))
    assert "prune_old_data" not in due(dt.datetime(2026, 6, 1, 4, 17))
