"""On-call overrides: a developer covering a schedule's level for a while (swaps, sick days, holidays)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.inputs import Instant, RowId, Text, path_row
from collector.api.schedules import OverrideOut, loaded_schedule, override_out
from db.enums import Role
from db.models import OncallOverride
from db.oncall import OncallError, add_override

api = Api()


class OverrideIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"developer_id": 1, "starts_at": "2026-01-05T09:00:00Z", "ends_at": "2026-01-06T09:00:00Z"}]
        },
    )

    developer_id: RowId
    starts_at: Instant
    ends_at: Instant
    level: int = Field(1, ge=1, le=20)
    reason: Text | None = Field(None, max_length=1000)


@api.route(
    "POST",
    "/oncall/schedules/{schedule_id:int}/overrides/",
    role=Role.ADMIN,
    summary="Put a developer on call for a schedule's level for a while",
    tag="oncall",
    body=OverrideIn,
    response=OverrideOut,
    status=201,
)
def create_override(ctx: ApiContext, req: ApiRequest) -> OverrideOut:
    """Swaps, sick days, holidays: where overrides overlap, the one added last wins."""
    body: OverrideIn = req.body
    schedule = loaded_schedule(ctx, req)
    if body.ends_at <= body.starts_at:
        raise ApiError(422, "body.ends_at: an override must end after it starts", field="body.ends_at")
    try:
        override = add_override(
            ctx.session, schedule, body.developer_id, body.starts_at, body.ends_at, body.level, body.reason
        )
    except OncallError as exc:
        raise ApiError(422, f"body.developer_id: {exc}", field="body.developer_id") from None
    ctx.audit("oncall.override.create", "override", override.id, after=_override_snapshot(override))
    return override_out(override)


def _override_snapshot(override: OncallOverride) -> dict[str, Any]:
    return {
        "schedule_id": override.schedule_id,
        "level": override.level,
        "developer_id": override.developer_id,
        "starts_at": override.starts_at,
        "ends_at": override.ends_at,
        "reason": override.reason,
    }


@api.route(
    "DELETE",
    "/oncall/overrides/{override_id:int}/",
    role=Role.ADMIN,
    summary="Remove an override",
    tag="oncall",
)
def delete_override(ctx: ApiContext, req: ApiRequest) -> None:
    override = path_row(ctx.session, OncallOverride, req, "override_id", "override")
    ctx.audit("oncall.override.delete", "override", override.id, before=_override_snapshot(override))
    ctx.session.delete(override)
