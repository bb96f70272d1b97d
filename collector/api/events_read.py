"""GET errors/{id}/events/ and events/{event_id}/: an error's occurrences, newest first, and one event in full.

Payloads: an event row holds its payload unless the MongoDB archive does (`Event.payload` is None); then it is
read from the archive (503 when the archive is unreachable; null once its TTL expired it)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import false, select

from collector.api.error_filters import Name
from collector.api.errors_read import load_error
from collector.api.framework import Api, ApiContext, ApiError, ApiRequest, not_found
from collector.api.inputs import EVENT_ID_PATTERN
from collector.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, after, decode_cursor, encode_cursor
from collector.archive import EventArchive, load_payload
from db.enums import Role, Severity
from db.models import Event, Project

api = Api()
TAG = "errors"
_EVENT_ID = re.compile(r"[0-9a-f]{32}")
MAX_PROJECT_ID = 2**31 - 1
_MAX_SAME_ID = 20  # projects listed when an event id is ambiguous


class EventSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    project_id: int
    issue_id: int
    timestamp: dt.datetime = Field(description="When it happened, by the client's clock.")
    received_at: dt.datetime
    level: str | None
    severity: Severity
    environment: str | None
    release: str | None
    platform: str | None
    message: str | None
    user_key: str | None = Field(description="The affected user (id, e-mail, username or IP) if the event named one.")
    tags: dict[str, str] | None


class EventOut(EventSummary):
    service: str
    source: str = Field(description="sentry, or the webhook kind it came from.")
    size_bytes: int
    payload: dict[str, Any] | None = Field(
        description="The scrubbed, normalised event (Sentry's event schema): exception values with frames and context "
        "lines, breadcrumbs, request, user, contexts, tags."
    )
    payload_archived: bool = Field(
        description="True when the payload is kept in the MongoDB archive rather than the SQL row (it is still "
        "included, unless the archive has expired it)."
    )


def event_out(event: Event, service: str, archive: EventArchive | None) -> EventOut:
    return EventOut(
        **dict(EventSummary.model_validate(event)),
        service=service,
        source=event.source,
        size_bytes=event.size_bytes,
        payload=load_payload(event, archive),
        payload_archived=event.payload is None,
    )


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, max_length=1000)


class EventQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: Name | None = Field(
        None, description="Project id or name, needed when two projects sent the same event id."
    )


@api.route(
    "GET",
    "/errors/{error_id:int}/events/",
    role=Role.VIEWER,
    summary="List an error's events, newest first",
    tag=TAG,
    query=EventsQuery,
    response=Page[EventSummary],
)
def list_error_events(ctx: ApiContext, req: ApiRequest) -> Page[EventSummary]:
    """The occurrences of one error, newest received first, without their payloads."""
    q: EventsQuery = req.query
    issue = load_error(ctx.session, req.path["error_id"])
    query = select(Event).where(Event.issue_id == issue.id)
    if q.cursor:
        received_at, row_id = decode_cursor(q.cursor, [dt.datetime, int])
        query = query.where(after([Event.received_at, Event.id], [received_at, row_id], descending=True))
    rows = ctx.session.scalars(query.order_by(Event.received_at.desc(), Event.id.desc()).limit(q.limit + 1)).all()
    items = [EventSummary.model_validate(row) for row in rows[: q.limit]]
    last = rows[q.limit - 1] if len(rows) > q.limit else None
    return Page[EventSummary](items=items, next_cursor=encode_cursor([last.received_at, last.id]) if last else None)


@api.route(
    "GET",
    "/events/{event_id}/",
    role=Role.VIEWER,
    summary="Get one event with its full payload",
    tag=TAG,
    query=EventQuery,
    response=EventOut,
    errors={409: "Several projects hold this event id: pass `project`."},
    path_schemas={"event_id": {"type": "string", "pattern": EVENT_ID_PATTERN}},
)
def get_event(ctx: ApiContext, req: ApiRequest) -> EventOut:
    """One event by its event id (32 hex characters; a UUID with dashes is accepted).

    An event id is unique per project. When several projects hold the same id and `project` is not given, the
    answer is 409 listing them, rather than a guess."""
    q: EventQuery = req.query
    raw = str(req.path["event_id"])
    event_id = raw.replace("-", "").lower()
    if not _EVENT_ID.fullmatch(event_id):
        raise ApiError(400, f"event id {raw[:64]!r} is not 32 hexadecimal characters", field="path.event_id")
    query = select(Event, Project.name).join(Project, Project.id == Event.project_id).where(Event.event_id == event_id)
    if q.project is not None:
        if q.project.isascii() and q.project.isdigit():
            project_id = int(q.project)
            query = query.where(Event.project_id == project_id if project_id <= MAX_PROJECT_ID else false())
        else:
            query = query.where(Project.name == q.project)
    rows = ctx.session.execute(query.order_by(Event.project_id).limit(_MAX_SAME_ID)).all()
    if not rows:
        raise not_found("event", event_id)
    if len(rows) > 1:
        listed = ", ".join(f"{row.Event.project_id} ({row.name})" for row in rows)
        detail = f"event {event_id} exists in several projects: {listed}; pass ?project=<id or name>"
        raise ApiError(409, detail, field="query.project")
    return event_out(rows[0].Event, rows[0].name, ctx.archive)
