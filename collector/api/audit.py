"""GET audit/: who changed what, when and from where."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from collector.api.framework import Api, ApiContext, ApiRequest
from collector.api.inputs import Instant
from collector.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, after, decode_cursor, encode_cursor
from db.enums import Role
from db.models import AuditEntry

api = Api()


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_type: str | None = Field(None, description="e.g. error, developer, token, project")
    target_id: str | None = None
    actor: str | None = Field(None, description="token name, 'cli' or 'system'")
    action: str | None = Field(None, description="e.g. error.resolve")
    since: Instant | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    client_address: str | None


@api.route(
    "GET",
    "/audit/",
    role=Role.VIEWER,
    summary="List audit entries, newest first",
    tag="audit",
    query=AuditQuery,
    response=Page[AuditOut],
)
def list_audit(ctx: ApiContext, req: ApiRequest) -> Page[AuditOut]:
    """Every change made through the API, the CLI or the tasks, newest first."""
    q: AuditQuery = req.query
    query = select(AuditEntry)
    for column, value in (
        (AuditEntry.target_type, q.target_type),
        (AuditEntry.target_id, q.target_id),
        (AuditEntry.actor, q.actor),
        (AuditEntry.action, q.action),
    ):
        if value is not None:
            query = query.where(column == value)
    if q.since is not None:
        query = query.where(AuditEntry.at >= q.since)
    if q.cursor:
        at, entry_id = decode_cursor(q.cursor, [dt.datetime, int])
        query = query.where(after([AuditEntry.at, AuditEntry.id], [at, entry_id], descending=True))
    rows = ctx.session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(q.limit + 1)).all()
    items = [AuditOut.model_validate(row) for row in rows[: q.limit]]
    next_cursor = encode_cursor([rows[q.limit - 1].at, rows[q.limit - 1].id]) if len(rows) > q.limit else None
    return Page[AuditOut](items=items, next_cursor=next_cursor)
