"""Escalating an issue to the next on-call level, a chain step's target or a named developer: one place for the
API's manual escalate and the tasks' automatic chain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.enums import Severity
from db.issue_state import OPEN_STATUSES, StateError, escalated
from db.models import Developer, Escalation, EscalationChain, EscalationStep, Issue
from db.oncall import on_call_for_project

MAX_REASON = 2000


class EscalationError(StateError):
    """An escalation that cannot happen as asked (nobody at the next level, a resolved issue, ...)."""


@dataclass(frozen=True)
class Target:
    developer_id: int
    level: int
    step_id: int | None = None


def page_event_id(escalation: Escalation) -> str:
    """The event id of the page an escalation sends ("esc-<id>"): one page per escalation, however often the
    chain's job or the API enqueues it."""
    return f"esc-{escalation.id}"


def chain_levels(steps: list[EscalationStep], severity: Severity | str) -> list[tuple[int, EscalationStep]]:
    """(level, step) for the chain's steps that apply to `severity`, in chain order. A step naming no level goes one
    above the step before it; the first page (the primary on-call) is level 1."""
    levels = []
    previous = 1
    for step in steps:
        if step.severity is not None and step.severity != severity:
            continue
        level = step.target_level if step.target_level is not None else previous + 1
        levels.append((level, step))
        previous = level
    return levels


def _chain_steps(session: Session, project_id: int) -> list[EscalationStep]:
    chain = session.scalars(
        select(EscalationChain)
        .where(EscalationChain.project_id == project_id)
        .options(selectinload(EscalationChain.steps))
    ).first()
    return list(chain.steps) if chain is not None else []


def _active(session: Session, developer_id: int | None) -> Developer | None:
    developer = session.get(Developer, developer_id) if developer_id is not None else None
    return developer if developer is not None and developer.is_active else None


def _on_call(session: Session, issue: Issue, level: int, now: dt.datetime) -> Developer | None:
    shift = on_call_for_project(session, issue.project_id, now, level=level)
    return _active(session, shift.developer_id) if shift is not None else None


def _next_level(session: Session, issue: Issue, now: dt.datetime) -> Target:
    """The on-call developer one level up, else that level's chain step's developer. A level whose target already
    has the issue is passed over: escalating to the person who holds it would reach nobody new."""
    steps = chain_levels(_chain_steps(session, issue.project_id), issue.severity)
    level = issue.escalation_level + 1
    while True:
        developer = _on_call(session, issue, level, now)
        step_id = None
        if developer is None:
            step = next((s for lvl, s in steps if lvl == level and _active(session, s.target_developer_id)), None)
            if step is not None:
                developer, step_id = _active(session, step.target_developer_id), step.id
        if developer is None:
            raise EscalationError(
                f"no level {level} on-call for error {issue.id}: nobody is on call at level {level} of its project's "
                f"schedules and its escalation chain names nobody for level {level}"
            )
        if developer.id != issue.assignee_id:
            return Target(developer.id, level, step_id)
        level += 1


def _step_target(session: Session, issue: Issue, step_id: int, now: dt.datetime) -> Target:
    step = session.get(EscalationStep, step_id)
    chain = session.get(EscalationChain, step.chain_id) if step is not None else None
    if step is None or chain is None or chain.project_id != issue.project_id:
        raise EscalationError(f"no escalation step {step_id} in the chain of error {issue.id}'s project")
    level = next((lvl for lvl, s in chain_levels(list(chain.steps), issue.severity) if s.id == step_id), None)
    if level is None:
        raise EscalationError(
            f"escalation step {step_id} is for {step.severity} errors; error {issue.id} is {issue.severity}"
        )
    if level <= issue.escalation_level:
        raise EscalationError(
            f"error {issue.id} is already at escalation level {issue.escalation_level}; "
            f"step {step_id} goes to level {level}"
        )
    developer = _on_call(session, issue, step.target_level, now) if step.target_level is not None else None
    developer = developer or _active(session, step.target_developer_id)
    if developer is None:
        raise EscalationError(
            f"no level {level} on-call for error {issue.id}, and step {step_id} names no active developer"
        )
    return Target(developer.id, level, step_id)


def _named(session: Session, issue: Issue, developer_id: int) -> Target:
    developer = session.get(Developer, developer_id)
    if developer is None:
        raise EscalationError(f"no developer with id {developer_id}")
    if not developer.is_active:
        raise EscalationError(f"developer {developer.name} (id {developer_id}) is inactive and cannot be escalated to")
    if developer.id == issue.assignee_id:
        raise EscalationError(f"error {issue.id} is already assigned to {developer.name}")
    return Target(developer.id, issue.escalation_level + 1)


def escalate(
    session: Session,
    issue: Issue,
    *,
    now: dt.datetime,
    actor: str,
    reason: str,
    to_developer_id: int | None = None,
    step_id: int | None = None,
) -> Escalation:
    """Hand `issue` one level up: to `to_developer_id`, to chain step `step_id`'s target, or else to the next level
    (escalation_level + 1) of its project's on-call schedules, falling back to that level's chain step.

    Records the Escalation row, raises the issue's escalation level, reassigns it to the target and marks it
    escalating. Auditing and notifying are the caller's: the API audits as the token, the chain as the system.
    Raises EscalationError, before changing anything, when the escalation cannot happen."""
    reason = (reason or "").strip()
    if not reason:
        raise EscalationError("an escalation needs a reason")
    if len(reason) > MAX_REASON:
        raise EscalationError(f"an escalation reason is at most {MAX_REASON} characters")
    if to_developer_id is not None and step_id is not None:
        raise EscalationError("escalate to a developer or by a chain step, not both")
    if issue.status not in OPEN_STATUSES:
        raise EscalationError(f"error {issue.id} is {issue.status}: only unresolved or acknowledged errors escalate")
    if to_developer_id is not None:
        target = _named(session, issue, to_developer_id)
    elif step_id is not None:
        target = _step_target(session, issue, step_id, now)
    else:
        target = _next_level(session, issue, now)

    escalation = Escalation(
        issue_id=issue.id,
        level=target.level,
        from_developer_id=issue.assignee_id,
        to_developer_id=target.developer_id,
        step_id=target.step_id,
        reason=reason,
        actor=actor,
        created_at=now,
    )
    session.add(escalation)
    escalated(issue, level=target.level, to_developer_id=target.developer_id, now=now)
    session.flush()
    return escalation
