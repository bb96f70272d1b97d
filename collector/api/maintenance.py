"""Maintenance windows: silences for planned work (all projects or one, narrowed by a search), listed for everyone,
made, changed and removed by admins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.inputs import Instant, RowId, Text, omittable, path_row
from db.enums import Role
from db.issue_query import QueryError
from db.maintenance import MaintenanceError, check_span, end_window, list_windows
from db.models import MaintenanceWindow, Project
from db.window_scope import check_window_query

api = Api()
TAG = "maintenance"
FIELDS = ("project_id", "query", "starts_at", "ends_at", "reason")


class MaintenanceWindowOut(BaseModel):
    id: int
    project_id: int | None = Field(description="null: every project.")
    project: str | None = Field(description="The project's name; null for every project.")
    query: str | None = Field(description="Narrows the scope to errors this `q` search matches.")
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    created_by: str
    created_at: dt.datetime
    active: bool = Field(description="Whether it silences alerts now.")
    silenced_alerts: int = Field(description="Alerts held back so far.")
    summary_sent_at: dt.datetime | None = Field(description="When its end-of-window summary was recorded.")


class MaintenanceWindowIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "project_id": 1,
                    "query": "level:critical",
                    "starts_at": "2026-01-05T12:00:00Z",
                    "ends_at": "2026-01-05T14:00:00Z",
                    "reason": "DB migration",
                }
            ]
        },
    )

    project_id: RowId | None = Field(None, description="The project it silences; null or left out: every project.")
    query: Text | None = Field(None, max_length=2000, description="Only errors this `q` search matches.")
    starts_at: Instant | None = Field(None, description="Default: now.")
    ends_at: Instant
    reason: Text = Field("", max_length=1000)


class MaintenanceWindowPatch(BaseModel):
    """Only the fields sent change; null clears project_id (every project) or query."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ends_at": "2026-01-05T15:00:00Z"}]})

    project_id: RowId | None = None
    query: Text | None = Field(None, max_length=2000)
    starts_at: Instant = omittable()
    ends_at: Instant = omittable()
    reason: Text = omittable(max_length=1000)


class WindowQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    past: bool = Field(False, description="true: ended windows too, newest first after the current and future ones.")


def window_out(window: MaintenanceWindow, names: dict[int, str], now: dt.datetime) -> MaintenanceWindowOut:
    return MaintenanceWindowOut(
        id=window.id,
        project_id=window.project_id,
        project=names.get(window.project_id) if window.project_id is not None else None,
        query=window.query,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        reason=window.reason,
        created_by=window.created_by,
        created_at=window.created_at,
        active=window.starts_at <= now < window.ends_at,
        silenced_alerts=window.silenced_alerts,
        summary_sent_at=window.summary_sent_at,
    )


def _out(ctx: ApiContext, window: MaintenanceWindow) -> MaintenanceWindowOut:
    names = {}
    if window.project_id is not None:
        names = {window.project_id: ctx.session.scalar(select(Project.name).where(Project.id == window.project_id))}
    return window_out(window, {k: v for k, v in names.items() if v is not None}, ctx.now)


def snapshot(window: MaintenanceWindow) -> dict[str, Any]:
    return {name: getattr(window, name) for name in FIELDS}


def _check(ctx: ApiContext, state: dict[str, Any]) -> None:
    """The window as it will be: an existing project, a query that parses, a sensible span."""
    if state["project_id"] is not None and ctx.session.get(Project, state["project_id"]) is None:
        raise ApiError(422, f"body.project_id: no project with id {state['project_id']}", field="body.project_id")
    if state["query"]:
        try:
            state["query"] = check_window_query(state["query"])
        except QueryError as exc:
            raise ApiError(400, f"body.query: {exc}", field="body.query") from None
    try:
        check_span(state["starts_at"], state["ends_at"])
    except MaintenanceError as exc:
        raise ApiError(422, f"body.ends_at: {exc}", field="body.ends_at") from None


def _window(ctx: ApiContext, req: ApiRequest) -> MaintenanceWindow:
    return path_row(ctx.session, MaintenanceWindow, req, "window_id", "maintenance window")


@api.route(
    "GET",
    "/maintenance-windows/",
    role=Role.VIEWER,
    summary="List maintenance windows",
    tag=TAG,
    query=WindowQuery,
    response=list[MaintenanceWindowOut],
)
def list_maintenance_windows(ctx: ApiContext, req: ApiRequest) -> list[MaintenanceWindowOut]:
    """Active and future windows, soonest first; with past=true, ended ones too."""
    q: WindowQuery = req.query
    windows = list_windows(ctx.session, ctx.now, include_past=q.past)
    names = {project_id: name for project_id, name in ctx.session.execute(select(Project.id, Project.name))}
    return [window_out(window, names, ctx.now) for window in windows]


@api.route(
    "POST",
    "/maintenance-windows/",
    role=Role.ADMIN,
    summary="Silence alerts for planned work",
    tag=TAG,
    body=MaintenanceWindowIn,
    response=MaintenanceWindowOut,
    status=201,
)
def create_maintenance_window(ctx: ApiContext, req: ApiRequest) -> MaintenanceWindowOut:
    """While it runs, alerts in its scope are recorded as suppressed (events are stored as always); when it ends,
    one summary of what it silenced goes to the on-call developer and the Slack channel."""
    body: MaintenanceWindowIn = req.body
    state = body.model_dump()
    state["starts_at"] = body.starts_at or ctx.now
    _check(ctx, state)
    window = MaintenanceWindow(**state, created_by=ctx.actor, created_at=ctx.now, silenced_alerts=0)
    ctx.session.add(window)
    ctx.session.flush()
    ctx.audit("maintenance.create", "maintenance_window", window.id, after=snapshot(window))
    return _out(ctx, window)


@api.route(
    "GET",
    "/maintenance-windows/{window_id:int}/",
    role=Role.VIEWER,
    summary="One maintenance window",
    tag=TAG,
    response=MaintenanceWindowOut,
)
def get_maintenance_window(ctx: ApiContext, req: ApiRequest) -> MaintenanceWindowOut:
    return _out(ctx, _window(ctx, req))


@api.route(
    "PATCH",
    "/maintenance-windows/{window_id:int}/",
    role=Role.ADMIN,
    summary="Change a maintenance window (extend it, narrow it, end it early)",
    tag=TAG,
    body=MaintenanceWindowPatch,
    response=MaintenanceWindowOut,
)
def update_maintenance_window(ctx: ApiContext, req: ApiRequest) -> MaintenanceWindowOut:
    """Only the fields sent change. Setting ends_at to now ends it; its summary then goes out."""
    body: MaintenanceWindowPatch = req.body
    window = _window(ctx, req)
    before = snapshot(window)
    state = {**before, **{name: getattr(body, name) for name in FIELDS if name in body.model_fields_set}}
    _check(ctx, state)
    state["query"] = state["query"] or None  # an empty query means none: the whole scope
    for name in FIELDS:
        setattr(window, name, state[name])
    after = snapshot(window)
    changed = [name for name in FIELDS if before[name] != after[name]]
    if "ends_at" in changed and window.ends_at > ctx.now:
        window.summary_sent_at = None  # reopened or extended: its summary goes out at the new end
    if changed:
        ctx.session.flush()
        ctx.audit(
            "maintenance.update",
            "maintenance_window",
            window.id,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return _out(ctx, window)


@api.route(
    "POST",
    "/maintenance-windows/{window_id:int}/end/",
    role=Role.ADMIN,
    summary="End a maintenance window now",
    tag=TAG,
    response=MaintenanceWindowOut,
    errors={409: "The window has already ended."},
)
def end_maintenance_window(ctx: ApiContext, req: ApiRequest) -> MaintenanceWindowOut:
    """Alerts page again from now on; the window's summary goes out within a minute."""
    window = _window(ctx, req)
    before = snapshot(window)
    try:
        end_window(ctx.session, window, ctx.now)
    except MaintenanceError as exc:
        raise ApiError(409, str(exc)) from None
    ctx.audit("maintenance.end", "maintenance_window", window.id, before=before, after=snapshot(window))
    return _out(ctx, window)


@api.route(
    "DELETE",
    "/maintenance-windows/{window_id:int}/",
    role=Role.ADMIN,
    summary="Delete a maintenance window",
    tag=TAG,
)
def delete_maintenance_window(ctx: ApiContext, req: ApiRequest) -> None:
    """Deleting an active window ends its silence at once, and no summary goes out for it."""
    window = _window(ctx, req)
    ctx.audit("maintenance.delete", "maintenance_window", window.id, before=snapshot(window))
    ctx.session.delete(window)
