"""Which errors a request asks for: its filter parameters and its `q` search, as SQL conditions on Issue.

Nullable columns are tested with an explicit IS NOT NULL, so a negated term (`!env:prod`) keeps the rows where the
column is empty instead of losing them to SQL's three-valued NOT."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from collector.api.framework import ApiError
from collector.api.inputs import Instant, storable
from collector.api.query import MAX_QUERY_LENGTH, QueryError, parse, parse_assignee
from collector.api.query_terms import (
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
from db.enums import IssueStatus, IssueSubstatus, Severity
from db.issue_state import OPEN_STATUSES
from db.models import Developer, Issue, Project


def _valid_assignee(value: str) -> str:
    parse_assignee(value)
    return value


UtcDatetime = Instant
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(storable)]
AssigneeValue = Annotated[str, StringConstraints(min_length=1, max_length=254), AfterValidator(_valid_assignee)]
ProjectId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class ErrorFilters(BaseModel):
    """The filters every error listing accepts; all of them must hold (lists: any of the values)."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, StringConstraints(max_length=MAX_QUERY_LENGTH), AfterValidator(storable)] | None = Field(
        None,
        description="Search: `is:unresolved level:critical service:payments assigned:me !assigned release:1.4.2 "
        'env:prod first_seen:-24h times_seen:>100 "timeout"`. Terms are ANDed, comma lists ORed, `!` negates.',
    )
    status: list[IssueStatus] | None = Field(None, description="Stored status, exactly.")
    severity: list[Severity] | None = None
    service: list[Name] | None = Field(None, description="Project (service) names.")
    project: list[Name] | None = Field(None, description="Synonym of service.")
    project_id: list[ProjectId] | None = None
    environment: list[Name] | None = Field(None, description="Environment of the latest event.")
    release: list[Name] | None = Field(None, description="First or latest release the error was seen in.")
    assignee: list[AssigneeValue] | None = Field(None, description="me, none, a developer id or e-mail.")
    first_seen_after: UtcDatetime | None = None
    first_seen_before: UtcDatetime | None = None
    last_seen_after: UtcDatetime | None = None
    last_seen_before: UtcDatetime | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(storable)] | None = Field(
        None, description="Free text in the title, culprit or exception type (case-insensitive)."
    )


def filter_conditions(filters: ErrorFilters, *, me: int | None, now: dt.datetime) -> list[ColumnElement[bool]]:
    """SQL conditions on Issue for `filters`; `me` is the calling token's developer (for assignee=me)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        conditions.append(Issue.status.in_(filters.status))
    if filters.severity:
        conditions.append(Issue.severity.in_(filters.severity))
    services = [*(filters.service or ()), *(filters.project or ())]
    if services:
        conditions.append(_in_services(services))
    if filters.project_id:
        conditions.append(Issue.project_id.in_(filters.project_id))
    if filters.environment:
        conditions.append(_in(Issue.last_environment, filters.environment))
    if filters.release:
        conditions.append(or_(_in(Issue.first_release, filters.release), _in(Issue.last_release, filters.release)))
    if filters.assignee:
        values = [parse_assignee(value) for value in filters.assignee]
        conditions.append(_assigned(values, me, lambda: ApiError(400, _NO_ME, field="query.assignee")))
    for column, value, later in (
        (Issue.first_seen, filters.first_seen_after, True),
        (Issue.first_seen, filters.first_seen_before, False),
        (Issue.last_seen, filters.last_seen_after, True),
        (Issue.last_seen, filters.last_seen_before, False),
    ):
        if value is not None:
            conditions.append(column >= value if later else column < value)
    if filters.text:
        conditions.append(_text(filters.text))
    if filters.q:
        conditions.extend(search_conditions(filters.q, me=me, now=now))
    return conditions


def search_conditions(q: str, *, me: int | None, now: dt.datetime) -> list[ColumnElement[bool]]:
    """The conditions of a `q` search; a search that does not parse is a 400 naming the bad token."""
    try:
        return [term_condition(term, me=me, now=now) for term in parse(q)]
    except QueryError as exc:
        raise ApiError(400, str(exc), field="query.q") from None


def term_condition(term: Term, *, me: int | None, now: dt.datetime) -> ColumnElement[bool]:
    condition = _positive(term, me, now)
    return not_(condition) if term.negated else condition


_NO_ME = "'me' needs a token tied to a developer (errlog token create --developer ...)"


def _positive(term: Term, me: int | None, now: dt.datetime) -> ColumnElement[bool]:
    if isinstance(term, StateTerm):
        return or_(*(_state(state) for state in term.states))
    if isinstance(term, SeverityTerm):
        return or_(
            Issue.severity.in_(term.severities) if term.severities else false(),
            _in(Issue.level, term.levels) if term.levels else false(),
        )
    if isinstance(term, ValueTerm):
        if term.field == "service":
            return _in_services(term.values)
        if term.field == "environment":
            return _in(Issue.last_environment, term.values)
        if term.field == "first_release":
            return _in(Issue.first_release, term.values)
        return or_(_in(Issue.first_release, term.values), _in(Issue.last_release, term.values))
    if isinstance(term, AssigneeTerm):
        return _assigned(term.values, me, lambda: QueryError(_NO_ME, token=term.token, position=term.position))
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
        return _text(term.text)
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
            return _in(Issue.substatus, [IssueSubstatus(state.value)])
        case State.REGRESSED:
            return Issue.is_regression == true()
        case State.ESCALATED:
            return Issue.escalation_level > 0
        case State.ASSIGNED:
            return Issue.assignee_id.is_not(None)
        case State.UNASSIGNED:
            return Issue.assignee_id.is_(None)
    raise ValueError(f"unhandled state {state}")


def _in(column: InstrumentedAttribute[object], values: Sequence[object]) -> ColumnElement[bool]:
    return and_(column.is_not(None), column.in_(values))


def _in_services(names: Sequence[str]) -> ColumnElement[bool]:
    return Issue.project_id.in_(select(Project.id).where(Project.name.in_(names)))


def _assigned(values: Sequence[int | str], me: int | None, no_me: Callable[[], Exception]) -> ColumnElement[bool]:
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
        options.append(_in(Issue.assignee_id, ids))
    if emails:
        by_email = select(Developer.id).where(func.lower(Developer.email).in_(emails))
        options.append(_in(Issue.assignee_id, by_email))  # type: ignore[arg-type]
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


def _text(text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(
        Issue.title.ilike(pattern, escape="\\"),
        and_(Issue.culprit.is_not(None), Issue.culprit.ilike(pattern, escape="\\")),
        and_(Issue.exception_type.is_not(None), Issue.exception_type.ilike(pattern, escape="\\")),
    )
