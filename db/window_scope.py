"""Whether an error is in a maintenance window's scope: its project, narrowed by a query in the `q` search syntax.

Shared by the API and CLI (checking a window's query when it is made) and the alert task (testing an error
against the active windows), so a window silences exactly what `GET errors/?q=...` would list."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.issue_conditions import term_condition
from db.issue_query import MAX_QUERY_LENGTH, QueryError, parse
from db.maintenance import active_windows
from db.models import Issue, MaintenanceWindow


def check_window_query(query: str) -> str:
    """The query, stripped, if it can scope a window; QueryError says why not. `assigned:me` cannot: a window
    belongs to nobody in particular."""
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"longer than {MAX_QUERY_LENGTH} characters", token=query[:20], position=0)
    for term in parse(query):
        term_condition(term, me=None, now=dt.datetime.now(dt.UTC))  # raises for `me`, as nobody is "me" here
    return query


def in_scope(session: Session, window: MaintenanceWindow, issue: Issue, now: dt.datetime) -> bool:
    """Whether `issue` is in the window's scope (the window is taken to be active and to cover its project)."""
    if window.project_id is not None and window.project_id != issue.project_id:
        return False
    if not window.query:
        return True
    try:
        conditions = [term_condition(term, me=None, now=now) for term in parse(window.query)]
    except QueryError:
        # Checked when the window was made; one edited by hand in the database silences its whole project
        # rather than nothing, as an operator asked for quiet.
        return True
    return session.scalar(select(Issue.id).where(Issue.id == issue.id, *conditions)) is not None


def silencing_window(session: Session, issue: Issue, now: dt.datetime) -> MaintenanceWindow | None:
    """The first active window whose scope holds `issue`, if any: its alerts are recorded but held back."""
    for window in active_windows(session, issue.project_id, now):
        if in_scope(session, window, issue, now):
            return window
    return None
