"""The SQL conditions on Issue that parsed search terms (db/issue_query.py) stand for: one search, the same rows,
for the API's error listings and for maintenance windows (db/window_scope.py).

Nullable columns are tested with an explicit IS NOT NULL, so a negated term (`!env:prod`) keeps the rows where the
column is empty instead of losing them to SQL's three-valued NOT."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from db.enums import IssueStatus, IssueSubstatus
from db.issue_query import QueryError
from db.issue_query_terms import (
    AssigneeTerm,
    HasTerm,
    NumberTerm,
    SeverityTerm,
    State,
    StateTerm,
    Term,
    TextTerm,
    TimeTerm,
    ValueTerm,
)
from db.issue_state import OPEN_STATUSES
from db.models import Developer, Issue, Project

NO_ME = "'me' needs a token tied to a developer (errlog token create --developer ...)"


def term_condition(term: Term, *, me: int | None, now: dt.datetime) -> ColumnElement[bool]:
    condition = _positive(term, me, now)
    return not_(condition) if term.negated else condition


def _positive(term: Term, me: int | None, now: dt.datetime) -> ColumnElement[bool]:
    if isinstance(term, StateTerm):
        return or_(*(_state(state) for state in term.states))
    if isinstance(term, SeverityTerm):
        return or_(
            Issue.severity.in_(term.severities) if term.severities else false(),
            in_values(Issue.level, term.levels) if term.levels else false(),
        )
    if isinstance(term, ValueTerm):
        if term.field == "service":
            return in_services(term.values)
        if term.field == "environment":
            return in_values(Issue.last_environment, term.values)
        if term.field == "first_release":
            return in_values(Issue.first_release, term.values)
        return or_(in_values(Issue.first_release, term.values), in_values(Issue.last_release, term.values))
    if isinstance(term, AssigneeTerm):
        return assigned_to(term.values, me, lambda: QueryError(NO_ME, token=term.token, position=term.position))
    if isinstance(term, HasTerm):
        columns = {"assignee": Issue.assignee_id, "release": Issue.last_release, "environment": Issue.last_environment}
        return or_(*(columns[name].is_not(None) for name in term.fields))
    if isinstance(term, TimeTerm):
        column = Issue.first_seen if term.field == "first_seen" else Issue.last_seen
        at = term.instant(now)
        if term.op == "=":
            return and_(column >= at, column < at + dt.timedelta(days=1))
        return _compare(column, term.op, at)
    if isinstance(term, NumberTerm):
        return _compare(Issue.times_seen if term.field == "times_seen" else Issue.users_affected, term.op, term.value)
    if isinstance(term, TextTerm):
        return text_matches(term.text)
    raise TypeError(f"no condition for {type(term).__name__}")


def _state(state: State) -> ColumnElement[bool]:
    match state:
        case State.UNRESOLVED:
            return Issue.status.in_(OPEN_STATUSES)
        case State.UNACKNOWLEDGED:
            return Issue.status == IssueStatus.UNRESOLVED
        case State.ACKNOWLEDGED | State.RESOLVED | State.IGNORED:
            return Issue.status == IssueStatus(state.value)
        case State.SNOOZED:
            return and_(
                Issue.status == IssueStatus.IGNORED,
                or_(
                    Issue.snooze_until.is_not(None),
                    Issue.snooze_event_limit.is_not(None),
                    Issue.snooze_user_limit.is_not(None),
                ),
            )
        case State.NEW | State.ONGOING | State.ESCALATING:
            return in_values(Issue.substatus, [IssueSubstatus(state.value)])
        case State.REGRESSED:
            return Issue.is_regression == true()
        case State.ESCALATED:
            return Issue.escalation_level > 0
        case State.ASSIGNED:
            return Issue.assignee_id.is_not(None)
        case State.UNASSIGNED:
            return Issue.assignee_id.is_(None)
    raise ValueError(f"unhandled state {state}")


def in_values(column: InstrumentedAttribute[object], values: Sequence[object]) -> ColumnElement[bool]:
    return and_(column.is_not(None), column.in_(values))


def in_services(names: Sequence[str]) -> ColumnElement[bool]:
    return Issue.project_id.in_(select(Project.id).where(Project.name.in_(names)))


def assigned_to(values: Sequence[int | str], me: int | None, no_me: Callable[[], Exception]) -> ColumnElement[bool]:
    ids: list[int] = []
    emails: list[str] = []
    options: list[ColumnElement[bool]] = []
    for value in values:
        if value == "none":
            options.append(Issue.assignee_id.is_(None))
        elif value == "me":
            if me is None:
                raise no_me()
            ids.append(me)
        elif isinstance(value, int):
            ids.append(value)
        else:
            emails.append(value.lower())
    if ids:
        options.append(in_values(Issue.assignee_id, ids))
    if emails:
        by_email = select(Developer.id).where(func.lower(Developer.email).in_(emails))
        options.append(in_values(Issue.assignee_id, by_email))  # type: ignore[arg-type]
    return or_(*options)


def _compare(column: InstrumentedAttribute[object], op: str, value: object) -> ColumnElement[bool]:
    match op:
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "<":
            return column < value
        case "<=":
            return column <= value
    return column == value


def text_matches(text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(
        Issue.title.ilike(pattern, escape="\\"),
        and_(Issue.culprit.is_not(None), Issue.culprit.ilike(pattern, escape="\\")),
        and_(Issue.exception_type.is_not(None), Issue.exception_type.ilike(pattern, escape="\\")),
    )
