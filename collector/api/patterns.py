"""GET patterns/: what the analysis tasks found (spikes, regressions, recurring, new in release, correlated)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.api.framework import Api, ApiContext, ApiRequest
from collector.api.inputs import BigRowId, RowId
from collector.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, after, decode_cursor, encode_cursor
from db.enums import PatternKind, Role, Severity
from db.models import Issue, Pattern, PatternIssue, Project

api = Api()


class PatternOut(BaseModel):
    id: int
    kind: PatternKind
    project_id: int | None
    service: str | None = Field(description="The project's name.")
    error_id: int | None = Field(description="The main error.")
    error_title: str | None
    error_severity: Severity | None
    correlated_error_ids: list[int] = Field(description="The other errors of a correlated pattern.")
    description: str = Field(description="The explanation, in plain language.")
    score: float
    details: dict[str, Any] | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    is_active: bool
    detected_at: dt.datetime


class PatternsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: list[PatternKind] | None = Field(None, description="One or more kinds (repeat or comma-separate).")
    project: RowId | None = Field(None, description="Only this project (id).")
    error_id: BigRowId | None = Field(None, description="Only patterns about this error (main or correlated).")
    include_inactive: bool = Field(False, description="Also patterns that are over.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


@api.route(
    "GET",
    "/patterns/",
    role=Role.VIEWER,
    summary="List detected patterns, newest first",
    tag="patterns",
    query=PatternsQuery,
    response=Page[PatternOut],
)
def list_patterns(ctx: ApiContext, req: ApiRequest) -> Page[PatternOut]:
    """Active patterns unless include_inactive; each with its main error's title and the correlated errors."""
    q: PatternsQuery = req.query
    query = (
        select(Pattern, Project.name, Issue.title, Issue.severity)
        .outerjoin(Project, Project.id == Pattern.project_id)
        .outerjoin(Issue, Issue.id == Pattern.issue_id)
        .options(selectinload(Pattern.issues))
    )
    if not q.include_inactive:
        query = query.where(Pattern.is_active.is_(True))
    if q.kind:
        query = query.where(Pattern.kind.in_(q.kind))
    if q.project is not None:
        query = query.where(Pattern.project_id == q.project)
    if q.error_id is not None:
        correlated = select(PatternIssue.pattern_id).where(PatternIssue.issue_id == q.error_id)
        query = query.where((Pattern.issue_id == q.error_id) | Pattern.id.in_(correlated))
    if q.cursor:
        at, pattern_id = decode_cursor(q.cursor, [dt.datetime, int])
        query = query.where(after([Pattern.detected_at, Pattern.id], [at, pattern_id], descending=True))
    rows = ctx.session.execute(query.order_by(Pattern.detected_at.desc(), Pattern.id.desc()).limit(q.limit + 1)).all()
    items = [
        PatternOut(
            id=pattern.id,
            kind=pattern.kind,
            project_id=pattern.project_id,
            service=service,
            error_id=pattern.issue_id,
            error_title=title,
            error_severity=severity,
            correlated_error_ids=sorted(link.issue_id for link in pattern.issues if link.issue_id != pattern.issue_id),
            description=pattern.description,
            score=pattern.score,
            details=pattern.details,
            window_start=pattern.window_start,
            window_end=pattern.window_end,
            is_active=pattern.is_active,
            detected_at=pattern.detected_at,
        )
        for pattern, service, title, severity in rows[: q.limit]
    ]
    last = rows[q.limit - 1][0] if len(rows) > q.limit else None
    return Page[PatternOut](items=items, next_cursor=encode_cursor([last.detected_at, last.id]) if last else None)
