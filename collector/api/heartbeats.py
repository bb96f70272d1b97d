"""GET/POST heartbeats/, PATCH/DELETE heartbeats/{id}/: cron monitors that page when a job misses its check-in."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.inputs import RowId, Text, omittable, path_row
from db.enums import Role
from db.heartbeats import (
    MAX_MINUTES,
    SLUG,
    HeartbeatError,
    check_in_path,
    create_heartbeat,
    due_after,
    find_heartbeat,
    snapshot,
)
from db.models import Heartbeat, Project
from db.projects import dsn_public_keys

api = Api()

Name = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=200)]
# Strict: a JSON true or false is not a number of minutes (lax validation would read it as 1 or 0).
Interval = Annotated[int, Field(strict=True, ge=1, le=MAX_MINUTES, description="Minutes between expected check-ins.")]
Grace = Annotated[
    int, Field(strict=True, ge=0, le=MAX_MINUTES, description="Minutes of lateness tolerated before a miss.")
]


class HeartbeatOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    slug: str
    name: str
    interval_minutes: int
    grace_minutes: int
    state: str = Field(description="waiting (no check-in yet), ok, missed or failing (the last run reported error).")
    last_check_in_at: dt.datetime | None
    last_status: str | None = Field(description="in_progress, ok or error.")
    next_due_at: dt.datetime | None = Field(description="When the next check-in is late (interval plus grace).")
    issue_id: int | None = Field(description="The open error raised for the current miss or failure.")
    is_active: bool
    created_at: dt.datetime
    check_in_url: str | None = Field(
        None, description="GET or POST it with ?status=ok|in_progress|error; null when the project has no DSN key."
    )


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"project_id": 1, "slug": "nightly-invoices", "interval_minutes": 1440, "grace_minutes": 30}]
        },
    )

    project_id: RowId
    slug: Annotated[str, StringConstraints(pattern=SLUG.pattern)] = Field(
        description="The monitor_slug the job checks in with: lowercase letters, digits, '-' and '_'."
    )
    name: Name = ""
    interval_minutes: Interval
    grace_minutes: Grace = 5


class HeartbeatPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grace_minutes": 60}]})

    name: Name = omittable()
    interval_minutes: Interval = omittable()
    grace_minutes: Grace = omittable()
    is_active: bool = omittable(description="false pauses the monitor: no misses while paused.")


class HeartbeatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: RowId | None = None


def _out(ctx: ApiContext, heartbeat: Heartbeat) -> HeartbeatOut:
    keys = dsn_public_keys(ctx.session, heartbeat.project_id)
    url = f"{ctx.settings.public_url}{check_in_path(heartbeat, keys[0])}" if keys else None
    return HeartbeatOut.model_validate(heartbeat).model_copy(update={"check_in_url": url})


def _heartbeat(ctx: ApiContext, req: ApiRequest) -> Heartbeat:
    return path_row(ctx.session, Heartbeat, req, "heartbeat_id", "heartbeat")


@api.route(
    "GET",
    "/heartbeats/",
    role=Role.VIEWER,
    summary="List heartbeat monitors and their state",
    tag="heartbeats",
    query=HeartbeatsQuery,
    response=list[HeartbeatOut],
)
def list_heartbeats(ctx: ApiContext, req: ApiRequest) -> list[HeartbeatOut]:
    query = select(Heartbeat).order_by(Heartbeat.project_id, Heartbeat.slug)
    if req.query.project_id is not None:
        query = query.where(Heartbeat.project_id == req.query.project_id)
    return [_out(ctx, heartbeat) for heartbeat in ctx.session.scalars(query)]


@api.route(
    "POST",
    "/heartbeats/",
    role=Role.ADMIN,
    summary="Create a heartbeat monitor",
    tag="heartbeats",
    body=HeartbeatIn,
    response=HeartbeatOut,
    status=201,
)
def create(ctx: ApiContext, req: ApiRequest) -> HeartbeatOut:
    """The first check-in is due one interval (plus grace) from now; the answer holds the check-in URL."""
    body: HeartbeatIn = req.body
    if ctx.session.get(Project, body.project_id) is None:
        raise ApiError(422, f"body.project_id: no project with id {body.project_id}", field="body.project_id")
    if find_heartbeat(ctx.session, body.project_id, body.slug) is not None:
        raise ApiError(409, f"project {body.project_id} already has a heartbeat {body.slug!r}", field="body.slug")
    try:
        heartbeat = create_heartbeat(
            ctx.session,
            body.project_id,
            body.slug,
            interval_minutes=body.interval_minutes,
            grace_minutes=body.grace_minutes,
            name=body.name,
            now=ctx.now,
        )
    except HeartbeatError as exc:
        raise ApiError(422, f"body: {exc}", field="body") from None
    ctx.audit("heartbeat.create", "heartbeat", heartbeat.id, after=snapshot(heartbeat))
    return _out(ctx, heartbeat)


@api.route(
    "PATCH",
    "/heartbeats/{heartbeat_id:int}/",
    role=Role.ADMIN,
    summary="Rename, reschedule, pause or resume a heartbeat monitor",
    tag="heartbeats",
    body=HeartbeatPatch,
    response=HeartbeatOut,
)
def update(ctx: ApiContext, req: ApiRequest) -> HeartbeatOut:
    """Only the fields sent change. A new interval or grace moves the next deadline; resuming a paused monitor
    gives it a full interval from now."""
    body: HeartbeatPatch = req.body
    heartbeat = _heartbeat(ctx, req)
    before = snapshot(heartbeat)
    for name in body.model_fields_set:
        setattr(heartbeat, name, getattr(body, name))
    if "is_active" in body.model_fields_set and body.is_active and not before["is_active"]:
        heartbeat.next_due_at = due_after(heartbeat, ctx.now)
    elif body.model_fields_set & {"interval_minutes", "grace_minutes"}:
        heartbeat.next_due_at = due_after(heartbeat, heartbeat.last_check_in_at or heartbeat.created_at)
    after = snapshot(heartbeat)
    if after != before:
        ctx.audit("heartbeat.update", "heartbeat", heartbeat.id, before=before, after=after)
    ctx.session.flush()
    return _out(ctx, heartbeat)


@api.route(
    "DELETE",
    "/heartbeats/{heartbeat_id:int}/",
    role=Role.ADMIN,
    summary="Delete a heartbeat monitor",
    tag="heartbeats",
)
def delete(ctx: ApiContext, req: ApiRequest) -> None:
    """Its check-ins are refused (404) from now on; the errors it raised stay."""
    heartbeat = _heartbeat(ctx, req)
    ctx.audit("heartbeat.delete", "heartbeat", heartbeat.id, before=snapshot(heartbeat))
    ctx.session.delete(heartbeat)
