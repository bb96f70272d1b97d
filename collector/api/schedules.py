"""On-call schedules: list, create, replace or remove a level's rotation, delete."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from collector.api.clock import ClockTime, format_clock
from collector.api.framework import Api, ApiContext, ApiError, ApiRequest, not_found
from collector.api.inputs import Day, RowId, Text, path_id
from collector.api.rota import load_schedules
from collector.api.schemas import DeveloperRef
from db.enums import Role
from db.models import OncallOverride, OncallSchedule, Project, Team
from db.oncall import MAX_SHIFT_HOURS, OncallError, create_rotation

api = Api()

ScheduleName = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
EXAMPLE_ROTATION: dict[str, Any] = {
    "level": 1,
    "participant_ids": [1],
    "start_date": "2026-01-05",
    "handoff_time": "09:00",
}


class RotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(1, ge=1, le=20, description="1 = primary, 2 = secondary, ...")
    participant_ids: list[RowId] = Field(min_length=1, max_length=100, description="Developers, in turn order.")
    start_date: Day = Field(description="The first shift begins on this day at handoff_time.")
    handoff_time: ClockTime
    timezone: str = Field("UTC", max_length=64, description="IANA time zone of the hand-off wall clock.")
    shift_hours: int = Field(168, ge=1, le=MAX_SHIFT_HOURS)


class RotationOut(BaseModel):
    level: int
    participants: list[DeveloperRef]
    start_date: dt.date
    handoff_time: ClockTime
    timezone: str
    shift_hours: int


class OverrideOut(BaseModel):
    id: int
    schedule_id: int
    level: int
    developer: DeveloperRef
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str | None
    created_at: dt.datetime


class ScheduleOut(BaseModel):
    id: int
    name: str
    project_id: int | None
    team_id: int | None
    rotations: list[RotationOut]
    overrides: list[OverrideOut] = Field(description="Overrides that have not ended yet, by start.")
    created_at: dt.datetime


class ScheduleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "payments", "project_id": 1, "rotations": [EXAMPLE_ROTATION]}]},
    )

    name: ScheduleName
    project_id: RowId | None = Field(None, description="The project it answers for; or give team_id.")
    team_id: RowId | None = Field(None, description="The team it answers for (and the team's projects).")
    rotations: list[RotationIn] = Field(min_length=1, max_length=20)


class SchedulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rotations": [EXAMPLE_ROTATION]}]})

    name: ScheduleName | None = None
    rotations: list[RotationIn] = Field(
        default_factory=list, max_length=20, description="Each replaces the rotation of its level, or adds it."
    )
    remove_levels: list[int] = Field(default_factory=list, description="Levels whose rotation is removed.")


class SchedulesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: RowId | None = Field(None, description="Only the schedules of this project (id).")
    team: RowId | None = Field(None, description="Only the schedules of this team (id).")


def schedule_out(schedule: OncallSchedule, now: dt.datetime) -> ScheduleOut:
    """From a schedule loaded with developers (collector.api.rota.load_schedules(with_developers=True))."""
    return ScheduleOut(
        id=schedule.id,
        name=schedule.name,
        project_id=schedule.project_id,
        team_id=schedule.team_id,
        created_at=schedule.created_at,
        rotations=[
            RotationOut(
                level=r.level,
                participants=[DeveloperRef.model_validate(p.developer) for p in r.participants],
                start_date=r.start_date,
                handoff_time=r.handoff_time,
                timezone=r.timezone,
                shift_hours=r.shift_hours,
            )
            for r in schedule.rotations
        ],
        overrides=[override_out(o) for o in schedule.overrides if o.ends_at > now],
    )


def override_out(override: OncallOverride) -> OverrideOut:
    return OverrideOut(
        id=override.id,
        schedule_id=override.schedule_id,
        level=override.level,
        developer=DeveloperRef.model_validate(override.developer),
        starts_at=override.starts_at,
        ends_at=override.ends_at,
        reason=override.reason,
        created_at=override.created_at,
    )


def snapshot(schedule: OncallSchedule) -> dict[str, Any]:
    """The schedule as the audit log keeps it."""
    return {
        "name": schedule.name,
        "project_id": schedule.project_id,
        "team_id": schedule.team_id,
        "rotations": [
            {
                "level": r.level,
                "participant_ids": [p.developer_id for p in r.participants],
                "start_date": r.start_date.isoformat(),
                "handoff_time": format_clock(r.handoff_time),
                "timezone": r.timezone,
                "shift_hours": r.shift_hours,
            }
            for r in schedule.rotations
        ],
    }


def _load(ctx: ApiContext, schedule_id: int) -> OncallSchedule:
    found = load_schedules(ctx.session, OncallSchedule.id == schedule_id, with_developers=True)
    if not found:
        raise not_found("schedule", schedule_id)
    return found[0]


def loaded_schedule(ctx: ApiContext, req: ApiRequest) -> OncallSchedule:
    """The schedule the path names, with rotations, participants and overrides (and their developers)."""
    return _load(ctx, path_id(req, "schedule_id", "schedule"))


def _name_free(ctx: ApiContext, name: str, schedule_id: int | None = None) -> None:
    owner = ctx.session.scalar(select(OncallSchedule.id).where(OncallSchedule.name == name))
    if owner is not None and owner != schedule_id:
        raise ApiError(409, f"schedule {owner} is already called {name!r}", field="body.name")


def _set_rotations(ctx: ApiContext, schedule: OncallSchedule, rotations: list[RotationIn], **scope: int | None) -> None:
    levels = [r.level for r in rotations]
    if len(set(levels)) != len(levels):
        raise ApiError(422, "body.rotations: each level may appear once", field="body.rotations")
    for i, rotation in enumerate(rotations):
        try:
            create_rotation(
                ctx.session,
                schedule_name=schedule.name,
                level=rotation.level,
                participant_ids=rotation.participant_ids,
                start_date=rotation.start_date,
                handoff_time=rotation.handoff_time,
                timezone=rotation.timezone,
                shift_hours=rotation.shift_hours,
                **scope,
            )
        except OncallError as exc:
            raise ApiError(422, f"body.rotations.{i}: {exc}", field=f"body.rotations.{i}") from None


@api.route(
    "GET",
    "/oncall/schedules/",
    role=Role.VIEWER,
    summary="List on-call schedules with rotations and current overrides",
    tag="oncall",
    query=SchedulesQuery,
    response=list[ScheduleOut],
)
def list_schedules(ctx: ApiContext, req: ApiRequest) -> list[ScheduleOut]:
    q: SchedulesQuery = req.query
    conditions = []
    if q.project is not None:
        conditions.append(OncallSchedule.project_id == q.project)
    if q.team is not None:
        conditions.append(OncallSchedule.team_id == q.team)
    return [schedule_out(s, ctx.now) for s in load_schedules(ctx.session, *conditions, with_developers=True)]


@api.route(
    "POST",
    "/oncall/schedules/",
    role=Role.ADMIN,
    summary="Create an on-call schedule for a project or a team",
    tag="oncall",
    body=ScheduleIn,
    response=ScheduleOut,
    status=201,
)
def create_schedule(ctx: ApiContext, req: ApiRequest) -> ScheduleOut:
    """A schedule answers for exactly one project or one team; each rotation is one level (1 = primary)."""
    body: ScheduleIn = req.body
    if (body.project_id is None) == (body.team_id is None):
        raise ApiError(422, "body.project_id: give either project_id or team_id", field="body.project_id")
    if body.project_id is not None and ctx.session.get(Project, body.project_id) is None:
        raise ApiError(422, f"body.project_id: no project with id {body.project_id}", field="body.project_id")
    if body.team_id is not None and ctx.session.get(Team, body.team_id) is None:
        raise ApiError(422, f"body.team_id: no team with id {body.team_id}", field="body.team_id")
    _name_free(ctx, body.name)
    schedule = OncallSchedule(name=body.name, project_id=body.project_id, team_id=body.team_id)
    ctx.session.add(schedule)
    ctx.session.flush()
    _set_rotations(ctx, schedule, body.rotations, project_id=body.project_id, team_id=body.team_id)
    schedule = _load(ctx, schedule.id)
    ctx.audit("oncall.schedule.create", "schedule", schedule.id, after=snapshot(schedule))
    return schedule_out(schedule, ctx.now)


@api.route(
    "PATCH",
    "/oncall/schedules/{schedule_id:int}/",
    role=Role.ADMIN,
    summary="Rename a schedule, replace or add a level's rotation, or remove one",
    tag="oncall",
    body=SchedulePatch,
    response=ScheduleOut,
)
def update_schedule(ctx: ApiContext, req: ApiRequest) -> ScheduleOut:
    body: SchedulePatch = req.body
    schedule = loaded_schedule(ctx, req)
    before = snapshot(schedule)
    missing = sorted(set(body.remove_levels) - {r.level for r in schedule.rotations})
    if missing:
        raise ApiError(422, f"body.remove_levels: no rotation at level {missing[0]}", field="body.remove_levels")
    if set(body.remove_levels) & {r.level for r in body.rotations}:
        raise ApiError(
            422, "body.remove_levels: a level cannot be both replaced and removed", field="body.remove_levels"
        )
    if body.name is not None and body.name != schedule.name:
        _name_free(ctx, body.name, schedule.id)
        schedule.name = body.name
        ctx.session.flush()
    for rotation in [r for r in schedule.rotations if r.level in body.remove_levels]:
        schedule.rotations.remove(rotation)
    ctx.session.flush()
    _set_rotations(ctx, schedule, body.rotations)
    schedule = _load(ctx, schedule.id)
    after = snapshot(schedule)
    if after != before:
        ctx.audit("oncall.schedule.update", "schedule", schedule.id, before=before, after=after)
    return schedule_out(schedule, ctx.now)


@api.route(
    "DELETE",
    "/oncall/schedules/{schedule_id:int}/",
    role=Role.ADMIN,
    summary="Delete a schedule with its rotations and overrides",
    tag="oncall",
)
def delete_schedule(ctx: ApiContext, req: ApiRequest) -> None:
    schedule = loaded_schedule(ctx, req)
    ctx.audit("oncall.schedule.delete", "schedule", schedule.id, before=snapshot(schedule))
    ctx.session.delete(schedule)
