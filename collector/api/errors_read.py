"""GET errors/ and errors/critical/: the triage queue, filtered, sorted, paged by cursor, with 24 h sparklines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, joinedload

from collector.api.error_filters import ErrorFilters, Name, UtcDatetime, filter_conditions
from collector.api.framework import Api, ApiContext, ApiError, ApiRequest, not_found
from collector.api.histograms import HOUR, Buckets, per_issue
from collector.api.inputs import MAX_BIG_ID
from collector.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from collector.api.schemas import ErrorOut, error_out
from db.enums import Role, Severity
from db.issue_state import OPEN_STATUSES
from db.models import Issue, Project

api = Api()
TAG = "errors"
SPARKLINE_HOURS = 24

SortName = Literal["last_seen", "first_seen", "count", "users", "severity", "impact"]
Include = Literal["sparkline"]


@dataclass(frozen=True)
class SortKey:
    expression: Any
    value: Callable[[Issue], Any]
    kind: type
    against: bool = False  # runs against the sort's direction (the queue: severity rank up, recency down)


_ID = SortKey(Issue.id, lambda issue: issue.id, int)
# Every sort ends with the id, so the keyset is total: no row is skipped or repeated across pages.
SORTS: dict[str, tuple[SortKey, ...]] = {
    "last_seen": (SortKey(Issue.last_seen, lambda i: i.last_seen, dt.datetime), _ID),
    "first_seen": (SortKey(Issue.first_seen, lambda i: i.first_seen, dt.datetime), _ID),
    "count": (SortKey(Issue.times_seen, lambda i: i.times_seen, int), _ID),
    "users": (SortKey(Issue.users_affected, lambda i: i.users_affected, int), _ID),
    "impact": (SortKey(Issue.impact_score, lambda i: i.impact_score, float), _ID),
    # The queue: most severe (lowest rank) first, then most recent; plain columns in the ORDER BY so that an index
    # on (rank, last_seen DESC, id DESC) can serve it.
    "severity": (
        SortKey(Issue.severity_rank, lambda i: i.severity_rank, int, against=True),
        SortKey(Issue.last_seen, lambda i: i.last_seen, dt.datetime),
        _ID,
    ),
}


class ErrorRow(ErrorOut):
    sparkline: list[int] | None = Field(
        None,
        description=f"With include=sparkline: events per hour over the last {SPARKLINE_HOURS} hours, oldest first.",
    )


class ErrorPage(Page[ErrorRow]):
    server_time: dt.datetime = Field(
        description="The server's clock at the request: pass it back as changed_since (a few seconds earlier, so a "
        "change committed while this page was read is not missed)."
    )


class ErrorListQuery(ErrorFilters):
    sort: SortName = Field("last_seen", description="severity = most severe first, then most recent (the queue).")
    order: Literal["desc", "asc"] = "desc"
    changed_since: UtcDatetime | None = Field(None, description="Only errors updated after this time.")
    include: list[Include] | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, max_length=1000)


class CriticalQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: list[Name] | None = None
    include: list[Include] | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, max_length=1000)


def _beyond(keys: Sequence[SortKey], values: Sequence[Any], descending: bool) -> ColumnElement[bool]:
    """Rows after `values` in the sort order: the keyset condition, with each key in its own direction."""
    conditions = []
    for i, key in enumerate(keys):
        equal_before = [k.expression == v for k, v in zip(keys[:i], values[:i], strict=True)]
        down = descending != key.against
        conditions.append(and_(*equal_before, key.expression < values[i] if down else key.expression > values[i]))
    return or_(*conditions)


def load_error(session: Session, error_id: int) -> Issue:
    """The issue with its project and assignee loaded (one query), or a 404."""
    issue = None
    if error_id <= MAX_BIG_ID:
        issue = session.scalars(
            select(Issue).options(joinedload(Issue.project), joinedload(Issue.assignee)).where(Issue.id == error_id)
        ).one_or_none()
    if issue is None:
        raise not_found("error", error_id)
    return issue


def error_page(
    ctx: ApiContext,
    conditions: Sequence[ColumnElement[bool]],
    *,
    sort: str,
    order: str,
    limit: int,
    cursor: str | None,
    sparkline: bool,
) -> ErrorPage:
    """One page of errors matching `conditions`: one query for the rows, one more for their sparklines."""
    keys = SORTS[sort]
    descending = order == "desc"
    kind = f"{sort}:{order}"
    query = select(Issue).options(joinedload(Issue.project), joinedload(Issue.assignee)).where(*conditions)
    if cursor:
        tagged = decode_cursor(cursor, [str, *(key.kind for key in keys)])
        if tagged[0] != kind:
            raise ApiError(
                400, f"this cursor is not from a page sorted by {kind}: start again without it", field="query.cursor"
            )
        query = query.where(_beyond(keys, tagged[1:], descending))
    ordering = [key.expression.desc() if descending != key.against else key.expression.asc() for key in keys]
    rows = ctx.session.scalars(query.order_by(*ordering).limit(limit + 1)).all()
    issues = rows[:limit]
    lines: dict[int, list[int]] = {}
    if sparkline:
        lines = per_issue(ctx.session, [i.id for i in issues], Buckets.ending_at(ctx.now, HOUR, SPARKLINE_HOURS))
    items = [ErrorRow(**dict(error_out(i)), sparkline=lines.get(i.id)) for i in issues]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor([kind, *(key.value(issues[-1]) for key in keys)])
    return ErrorPage(items=items, next_cursor=next_cursor, server_time=ctx.now)


@api.route(
    "GET", "/errors/", role=Role.VIEWER, summary="List errors", tag=TAG, query=ErrorListQuery, response=ErrorPage
)
def list_errors(ctx: ApiContext, req: ApiRequest) -> ErrorPage:
    """Errors (grouped issues) matching the filters and the `q` search, sorted, one page at a time.

    `changed_since` returns only errors updated after it, for a cheap live refresh. An error that changed so that it
    no longer matches the filters is not returned: to learn about those, refresh with the same `changed_since` and
    without the status filters, or re-read the page."""
    q: ErrorListQuery = req.query
    conditions = filter_conditions(q, me=ctx.developer_id, now=ctx.now)
    if q.changed_since is not None:
        conditions.append(Issue.updated_at > q.changed_since)
    return error_page(
        ctx,
        conditions,
        sort=q.sort,
        order=q.order,
        limit=q.limit,
        cursor=q.cursor,
        sparkline="sparkline" in (q.include or ()),
    )


@api.route(
    "GET",
    "/errors/critical/",
    role=Role.VIEWER,
    summary="List open critical errors",
    tag=TAG,
    query=CriticalQuery,
    response=ErrorPage,
)
def list_critical_errors(ctx: ApiContext, req: ApiRequest) -> ErrorPage:
    """Critical errors that are unresolved or acknowledged, most recent first."""
    q: CriticalQuery = req.query
    conditions: list[ColumnElement[bool]] = [Issue.status.in_(OPEN_STATUSES), Issue.severity == Severity.CRITICAL]
    if q.service:
        conditions.append(Issue.project_id.in_(select(Project.id).where(Project.name.in_(q.service))))
    return error_page(
        ctx,
        conditions,
        sort="last_seen",
        order="desc",
        limit=q.limit,
        cursor=q.cursor,
        sparkline="sparkline" in (q.include or ()),
    )
