"""GET/PUT projects/{id}/escalation-chain/: who is paged next when an error stays unacknowledged or unresolved."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.inputs import RowId, Text, path_row
from collector.api.schemas import DeveloperRef
from db.enums import EscalationCondition, Role, Severity
from db.models import Developer, EscalationChain, EscalationStep, Project

api = Api()

MAX_STEPS = 20
MAX_DELAY_MINUTES = 60 * 24 * 30


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int | None = Field(
        None, ge=1, description="Optional; when given, steps must be numbered 1, 2, 3... in the order sent."
    )
    severity: Severity | None = Field(None, description="Errors of this severity only; null: any severity.")
    condition: EscalationCondition = EscalationCondition.UNACKNOWLEDGED
    after_minutes: int = Field(ge=0, le=MAX_DELAY_MINUTES, description="How long the condition must hold.")
    target_level: int | None = Field(None, ge=1, le=20, description="Page the on-call developer of this level.")
    target_developer_id: RowId | None = Field(None, description="Page this developer (a team lead, say).")

    @model_validator(mode="after")
    def _has_target(self) -> StepIn:
        if self.target_level is None and self.target_developer_id is None:
            raise ValueError("a step needs a target: target_level, target_developer_id or both")
        return self


class ChainIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "steps": [
                        {"severity": "critical", "after_minutes": 15, "target_level": 2},
                        {"severity": "critical", "after_minutes": 45, "target_level": 3},
                        {"severity": "high", "condition": "unresolved", "after_minutes": 360, "target_level": 2},
                    ]
                }
            ]
        },
    )

    name: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = "default"
    steps: list[StepIn] = Field(max_length=MAX_STEPS, description="In the order they apply; empty: no escalation.")


class StepOut(BaseModel):
    position: int
    severity: Severity | None
    condition: EscalationCondition
    after_minutes: int
    target_level: int | None
    target_developer: DeveloperRef | None


class ChainOut(BaseModel):
    id: int | None = Field(description="Null when the project has no chain yet.")
    project_id: int
    name: str | None
    steps: list[StepOut]


def _project(ctx: ApiContext, req: ApiRequest) -> Project:
    return path_row(ctx.session, Project, req, "project_id", "project")


def _chain(ctx: ApiContext, project_id: int) -> EscalationChain | None:
    return ctx.session.scalars(
        select(EscalationChain)
        .where(EscalationChain.project_id == project_id)
        .options(selectinload(EscalationChain.steps))
        .execution_options(populate_existing=True)
    ).first()


def _chain_out(project_id: int, chain: EscalationChain | None, developers: dict[int, Developer]) -> ChainOut:
    if chain is None:
        return ChainOut(id=None, project_id=project_id, name=None, steps=[])
    return ChainOut(
        id=chain.id,
        project_id=project_id,
        name=chain.name,
        steps=[
            StepOut(
                position=step.position,
                severity=step.severity,
                condition=step.condition,
                after_minutes=step.after_minutes,
                target_level=step.target_level,
                target_developer=(
                    DeveloperRef.model_validate(developers[step.target_developer_id])
                    if step.target_developer_id in developers
                    else None
                ),
            )
            for step in chain.steps
        ],
    )


def _developers(ctx: ApiContext, ids: set[int]) -> dict[int, Developer]:
    return {d.id: d for d in ctx.session.scalars(select(Developer).where(Developer.id.in_(ids)))} if ids else {}


def snapshot(chain: EscalationChain | None) -> dict[str, Any] | None:
    if chain is None:
        return None
    keys = ("position", "severity", "condition", "after_minutes", "target_level", "target_developer_id")
    return {"name": chain.name, "steps": [{k: getattr(step, k) for k in keys} for step in chain.steps]}


@api.route(
    "GET",
    "/projects/{project_id:int}/escalation-chain/",
    role=Role.VIEWER,
    summary="A project's escalation chain",
    tag="projects",
    response=ChainOut,
)
def get_escalation_chain(ctx: ApiContext, req: ApiRequest) -> ChainOut:
    project = _project(ctx, req)
    chain = _chain(ctx, project.id)
    ids = {s.target_developer_id for s in chain.steps if s.target_developer_id is not None} if chain else set()
    return _chain_out(project.id, chain, _developers(ctx, ids))


@api.route(
    "PUT",
    "/projects/{project_id:int}/escalation-chain/",
    role=Role.ADMIN,
    summary="Replace a project's escalation chain",
    tag="projects",
    body=ChainIn,
    response=ChainOut,
)
def put_escalation_chain(ctx: ApiContext, req: ApiRequest) -> ChainOut:
    """E.g. critical unacknowledged for 15 minutes -> level 2, for 45 -> level 3; high unresolved for 6 hours ->
    level 2. Steps are stored in the order sent."""
    body: ChainIn = req.body
    project = _project(ctx, req)
    for i, step in enumerate(body.steps):
        if step.position is not None and step.position != i + 1:
            raise ApiError(
                422,
                f"body.steps.{i}.position: expected {i + 1}; steps are numbered 1, 2, 3... in the order sent",
                field=f"body.steps.{i}.position",
            )
    developers = _developers(ctx, {s.target_developer_id for s in body.steps if s.target_developer_id is not None})
    for i, step in enumerate(body.steps):
        developer = developers.get(step.target_developer_id) if step.target_developer_id is not None else None
        if step.target_developer_id is not None and (developer is None or not developer.is_active):
            problem = "is inactive" if developer else "does not exist"
            raise ApiError(
                422,
                f"body.steps.{i}.target_developer_id: developer {step.target_developer_id} {problem}",
                field=f"body.steps.{i}.target_developer_id",
            )

    chain = _chain(ctx, project.id)
    before = snapshot(chain)
    if chain is None:
        chain = EscalationChain(project_id=project.id)
        ctx.session.add(chain)
    chain.name = body.name
    chain.steps.clear()
    # Delete the old steps before inserting: the unit of work would insert first and trip (chain, position).
    ctx.session.flush()
    chain.steps.extend(
        EscalationStep(
            position=i + 1,
            severity=step.severity,
            condition=step.condition,
            after_minutes=step.after_minutes,
            target_level=step.target_level,
            target_developer_id=step.target_developer_id,
        )
        for i, step in enumerate(body.steps)
    )
    ctx.session.flush()
    after = snapshot(chain)
    if after != before:
        ctx.audit("project.escalation_chain.update", "project", project.id, before=before, after=after)
    return _chain_out(project.id, chain, developers)
