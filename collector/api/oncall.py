"""GET oncall/: who is on call now and who is next, per project and per team."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select

from collector.api.framework import Api, ApiContext, ApiRequest, not_found
from collector.api.inputs import Instant, RowId
from collector.api.rota import LevelState, level_states, load_schedules, pick_level
from collector.api.schemas import DeveloperRef
from db.enums import Role
from db.models import Developer, OncallSchedule, Project, Team
from db.oncall import Shift

api = Api()


class ShiftOut(BaseModel):
    developer: DeveloperRef
    starts_at: dt.datetime
    ends_at: dt.datetime
    source: Literal["rotation", "override"]


class LevelOut(BaseModel):
    level: int = Field(description="1 = primary, 2 = secondary, ...")
    schedule_id: int
    schedule_name: str
    on_call: ShiftOut | None = Field(description="Who answers now, since and until when; null: nobody.")
    next: ShiftOut | None = Field(description="The stretch after the current one (or the first to come).")


class OncallOut(BaseModel):
    scope: Literal["project", "team"]
    project_id: int | None
    project_name: str | None
    team_id: int | None
    team_name: str | None
    levels: list[LevelOut]


class OncallQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: RowId | None = Field(None, description="Only this project (id).")
    team: RowId | None = Field(None, description="Only this team (id) and its projects.")
    at: Instant | None = Field(None, description="The instant to look at (default: now).")


class _Scope:
    """One row of the answer while it is being built: a project or team and the level states that apply."""

    def __init__(self, out: OncallOut, states: list[LevelState]) -> None:
        self.out = out
        self.picked = [
            (level, pick_level(s for s in states if s.level == level)) for level in sorted({s.level for s in states})
        ]

    def developer_ids(self) -> set[int]:
        return {
            shift.developer_id
            for _, state in self.picked
            if state is not None
            for shift in (state.current, state.upcoming)
            if shift is not None
        }

    def finish(self, developers: dict[int, Developer]) -> OncallOut:
        self.out.levels = [
            LevelOut(
                level=level,
                schedule_id=state.schedule.id,
                schedule_name=state.schedule.name,
                on_call=_shift_out(state.current, developers),
                next=_shift_out(state.upcoming, developers),
            )
            for level, state in self.picked
            if state is not None
        ]
        return self.out


def _shift_out(shift: Shift | None, developers: dict[int, Developer]) -> ShiftOut | None:
    if shift is None or shift.developer_id not in developers:
        return None
    return ShiftOut(
        developer=DeveloperRef.model_validate(developers[shift.developer_id]),
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        source="override" if shift.source == "override" else "rotation",
    )


def _states(schedules: list[OncallSchedule], states: dict[int, list[LevelState]]) -> list[LevelState]:
    return [state for schedule in schedules for state in states[schedule.id]]


@api.route(
    "GET",
    "/oncall/",
    role=Role.VIEWER,
    summary="Who is on call now and next, per project and team",
    tag="oncall",
    query=OncallQuery,
    response=list[OncallOut],
    errors={404: "No project or team with the id given."},
)
def who_is_on_call(ctx: ApiContext, req: ApiRequest) -> list[OncallOut]:
    """Projects first (their own schedules, then their team's, as paging picks), then teams with schedules of
    their own. For each level: who is on call and until when, who is next and from when."""
    q: OncallQuery = req.query
    at = (q.at or ctx.now).astimezone(dt.UTC)
    if q.project is not None and ctx.session.get(Project, q.project) is None:
        raise not_found("project", q.project)
    if q.team is not None and ctx.session.get(Team, q.team) is None:
        raise not_found("team", q.team)

    schedules = load_schedules(ctx.session)
    states = {schedule.id: level_states(schedule, at) for schedule in schedules}
    team_schedules = [s for s in schedules if s.project_id is None]
    team_ids = {s.team_id for s in team_schedules if s.team_id is not None}
    projects = ctx.session.scalars(
        select(Project)
        .where(or_(Project.id.in_({s.project_id for s in schedules}), Project.team_id.in_(team_ids)))
        .order_by(Project.name, Project.id)
    ).all()
    named = team_ids | {p.team_id for p in projects if p.team_id is not None}
    team_names = {
        team_id: name for team_id, name in ctx.session.execute(select(Team.id, Team.name).where(Team.id.in_(named)))
    }

    scopes = []
    for project in projects:
        if q.project not in (None, project.id) or q.team not in (None, project.team_id):
            continue
        own = [s for s in schedules if s.project_id == project.id]
        inherited = [s for s in team_schedules if project.team_id is not None and s.team_id == project.team_id]
        out = OncallOut(
            scope="project",
            project_id=project.id,
            project_name=project.name,
            team_id=project.team_id,
            team_name=team_names.get(project.team_id) if project.team_id is not None else None,
            levels=[],
        )
        scopes.append(_Scope(out, _states(own + inherited, states)))
    if q.project is None:
        for team_id in sorted(team_ids, key=lambda i: (team_names.get(i, ""), i)):
            if q.team in (None, team_id):
                out = OncallOut(
                    scope="team",
                    project_id=None,
                    project_name=None,
                    team_id=team_id,
                    team_name=team_names.get(team_id),
                    levels=[],
                )
                scopes.append(_Scope(out, _states([s for s in team_schedules if s.team_id == team_id], states)))

    wanted = set().union(*(scope.developer_ids() for scope in scopes))
    developers = {d.id: d for d in ctx.session.scalars(select(Developer).where(Developer.id.in_(wanted)))}
    return [scope.finish(developers) for scope in scopes]
