"""Small factories for database rows, so tests say only what matters to them."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from sqlalchemy.orm import Session

from db.enums import IssueStatus, Severity
from db.models import Developer, Event, Issue, Project
from db.rollups import Counted, count_events
from db.types import utcnow

_counter = itertools.count(1)


def make_project(session: Session, name: str | None = None, **fields: object) -> Project:
    project = Project(name=name or f"service-{next(_counter)}", **fields)
    session.add(project)
    session.flush()
    return project


def make_developer(session: Session, name: str | None = None, **fields: object) -> Developer:
    n = next(_counter)
    fields.setdefault("email", f"dev{n}@example.com")
    developer = Developer(name=name or f"Developer {n}", **fields)
    session.add(developer)
    session.flush()
    return developer


def make_issue(
    session: Session,
    project: Project,
    *,
    severity: Severity = Severity.HIGH,
    status: IssueStatus = IssueStatus.UNRESOLVED,
    last_seen: dt.datetime | None = None,
    **fields: object,
) -> Issue:
    n = next(_counter)
    fields.setdefault("fingerprint", uuid.uuid4().hex)
    fields.setdefault("title", f"ValueError: failure {n}")
    issue = Issue(project_id=project.id, severity=severity, status=status, last_seen=last_seen or utcnow(), **fields)
    session.add(issue)
    session.flush()
    return issue


def make_event(
    session: Session, issue: Issue, *, received_at: dt.datetime | None = None, counted: bool = True, **fields: object
) -> Event:
    """An event of `issue`, added to the roll-ups unless not `counted` (a schema from before the newest roll-up)."""
    at = received_at or utcnow()
    fields.setdefault("event_id", uuid.uuid4().hex)
    event = Event(
        project_id=issue.project_id,
        issue_id=issue.id,
        timestamp=at,
        received_at=at,
        severity=issue.severity,
        **fields,
    )
    session.add(event)
    session.flush()
    if counted:  # as the ingest writer does: the histograms and stats read these counts, not the events
        count_events(session, [Counted(issue.id, issue.project_id, event.severity, at)])
    return event
