"""GET developers/workload/: per active developer, open assigned errors, who is on call now and their next shift."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from collector.api.framework import Api, ApiContext, ApiRequest
from collector.api.inputs import Instant
from collector.api.rota import Timelines, level_states, load_schedules, next_shift_starts
from collector.api.schemas import DeveloperRef
from db.enums import IssueStatus, Role, Severity
from db.issue_state import OPEN_STATUSES
from db.models import Developer, Issue

api = Api()


class SeverityCounts(BaseModel):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0


class OldestOpen(BaseModel):
    error_id: int
    title: str
    severity: Severity
    since: dt.datetime = Field(description="When it was assigned (its first sighting if that is unknown).")


class OnCallShift(BaseModel):
    schedule_id: int
    schedule_name: str
    project_id: int | None
    team_id: int | None
    level: int = Field(description="1 = primary, 2 = secondary, ...")
    until: dt.datetime


class WorkloadOut(BaseModel):
    developer: DeveloperRef
    open_assigned: int = Field(description="Unresolved or acknowledged errors assigned to the developer.")
    open_by_severity: SeverityCounts
    unacknowledged: int = Field(description="Of those, the ones nobody has acknowledged yet.")
    oldest_open: OldestOpen | None
    on_call_now: bool
    on_call_levels: list[int] = Field(description="The levels they answer for now, over all schedules.")
    on_call: list[OnCallShift]
    next_shift_start: dt.datetime | None = Field(description="When their next stretch on call begins.")


class WorkloadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: Instant | None = Field(None, description="The instant for the on-call columns (default: now).")


# Served by ix_issues_assignee_status.
OPEN_ASSIGNED = (Issue.assignee_id.is_not(None), Issue.status.in_(OPEN_STATUSES))


@api.route(
    "GET",
    "/developers/workload/",
    role=Role.VIEWER,
    summary="Open assigned errors and on-call state per active developer",
    tag="developers",
    query=WorkloadQuery,
    response=list[WorkloadOut],
)
def developer_workload(ctx: ApiContext, req: ApiRequest) -> list[WorkloadOut]:
    """One row per active developer, by name; the same few queries however many developers and schedules."""
    at = (req.query.at or ctx.now).astimezone(dt.UTC)
    # With each developer, the id of their oldest open assignment: one index probe per developer, in the same
    # statement (ix_issues_assignee_status; an index on (assignee_id, coalesce(assigned_at, first_seen)) for the
    # open statuses makes each probe a single index read).
    candidate = aliased(Issue)
    oldest_id = (
        select(candidate.id)
        .where(candidate.assignee_id == Developer.id, candidate.status.in_(OPEN_STATUSES))
        .order_by(func.coalesce(candidate.assigned_at, candidate.first_seen), candidate.id)
        .limit(1)
        .scalar_subquery()
    )
    developers = ctx.session.execute(
        select(Developer, oldest_id).where(Developer.is_active.is_(True)).order_by(Developer.name, Developer.id)
    ).all()

    counts: dict[int, SeverityCounts] = {}
    unacknowledged: dict[int, int] = {}
    rows = ctx.session.execute(
        select(
            Issue.assignee_id,
            Issue.severity,
            func.count(),
            func.sum(case((Issue.status == IssueStatus.UNRESOLVED, 1), else_=0)),
        )
        .where(*OPEN_ASSIGNED)
        .group_by(Issue.assignee_id, Issue.severity)
    )
    for assignee_id, severity, count, unacked in rows:
        setattr(counts.setdefault(assignee_id, SeverityCounts()), Severity(severity).value, count)
        unacknowledged[assignee_id] = unacknowledged.get(assignee_id, 0) + int(unacked or 0)

    since = func.coalesce(Issue.assigned_at, Issue.first_seen)
    wanted = [issue_id for _, issue_id in developers if issue_id is not None]
    oldest = {
        row.assignee_id: OldestOpen(error_id=row.id, title=row.title, severity=row.severity, since=row.since)
        for row in ctx.session.execute(
            select(Issue.id, Issue.assignee_id, Issue.title, Issue.severity, since.label("since")).where(
                Issue.id.in_(wanted)
            )
        )
    }

    schedules = load_schedules(ctx.session)
    timelines = Timelines()
    on_call: dict[int, list[OnCallShift]] = {}
    for schedule in schedules:
        for state in level_states(schedule, at, timelines):
            if state.current is not None:
                on_call.setdefault(state.current.developer_id, []).append(
                    OnCallShift(
                        schedule_id=schedule.id,
                        schedule_name=schedule.name,
                        project_id=schedule.project_id,
                        team_id=schedule.team_id,
                        level=state.level,
                        until=state.current.ends_at,
                    )
                )
    next_starts = next_shift_starts(schedules, at, timelines)

    result = []
    for developer, _ in developers:
        by_severity = counts.get(developer.id, SeverityCounts())
        shifts = on_call.get(developer.id, [])
        result.append(
            WorkloadOut(
                developer=DeveloperRef.model_validate(developer),
                open_assigned=sum(by_severity.model_dump().values()),
                open_by_severity=by_severity,
                unacknowledged=unacknowledged.get(developer.id, 0),
                oldest_open=oldest.get(developer.id),
                on_call_now=bool(shifts),
                on_call_levels=sorted({s.level for s in shifts}),
                on_call=shifts,
                next_shift_start=next_starts.get(developer.id),
            )
        )
    return result
