"""Which errors a request asks for: its filter parameters and its `q` search, as SQL conditions on Issue (those of
the search, and the column tests they share, come from db/issue_conditions.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import ColumnElement, or_

from collector.api.framework import ApiError
from collector.api.inputs import Instant, storable
from db.enums import IssueStatus, Severity
from db.issue_conditions import NO_ME, assigned_to, in_services, in_values, term_condition, text_matches
from db.issue_query import MAX_QUERY_LENGTH, QueryError, parse, parse_assignee
from db.models import Issue


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
        conditions.append(in_services(services))
    if filters.project_id:
        conditions.append(Issue.project_id.in_(filters.project_id))
    if filters.environment:
        conditions.append(in_values(Issue.last_environment, filters.environment))
    if filters.release:
        conditions.append(
            or_(in_values(Issue.first_release, filters.release), in_values(Issue.last_release, filters.release))
        )
    if filters.assignee:
        values = [parse_assignee(value) for value in filters.assignee]
        conditions.append(assigned_to(values, me, lambda: ApiError(400, NO_ME, field="query.assignee")))
    for column, value, later in (
        (Issue.first_seen, filters.first_seen_after, True),
        (Issue.first_seen, filters.first_seen_before, False),
        (Issue.last_seen, filters.last_seen_after, True),
        (Issue.last_seen, filters.last_seen_before, False),
    ):
        if value is not None:
            conditions.append(column >= value if later else column < value)
    if filters.text:
        conditions.append(text_matches(filters.text))
    if filters.q:
        conditions.extend(search_conditions(filters.q, me=me, now=now))
    return conditions


def search_conditions(q: str, *, me: int | None, now: dt.datetime) -> list[ColumnElement[bool]]:
    """The conditions of a `q` search; a search that does not parse is a 400 naming the bad token."""
    try:
        return [term_condition(term, me=me, now=now) for term in parse(q)]
    except QueryError as exc:
        raise ApiError(400, str(exc), field="query.q") from None
