"""What the error actions do (resolve, assign, escalate, ...), shared by the single-error and bulk endpoints.

Each action validates what it can once per request (`prepare`: unknown developers are a 422 for the whole
request), then changes one issue at a time (`apply`), checking before it changes anything so that a failure in a
bulk request leaves that issue untouched and the others go on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from collector.api.auto_assign import AutoAssigner
from collector.api.error_paging import follow_incident, page_escalation
from collector.api.framework import ApiContext, ApiError, ValidationProblem
from collector.api.inputs import MAX_BIG_ID, BigRowId, Instant, storable
from db.escalation import MAX_REASON, escalate
from db.issue_state import acknowledge, assign, ignore, reopen, resolve
from db.models import Comment, Developer, Issue

ErrorId = BigRowId
DeveloperId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _text(max_length: int, min_length: int = 1) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


NoNul = AfterValidator(storable)
Release = Annotated[str, _text(200), NoNul]
Email = Annotated[str, _text(254, min_length=3), NoNul]
Reason = Annotated[str, _text(MAX_REASON), NoNul]
CommentText = Annotated[str, _text(10_000), NoNul]
AUDITED = (
    "status",
    "substatus",
    "severity",
    "assignee_id",
    "assigned_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_in_release",
    "resolved_in_next_release",
    "is_regression",
    "escalation_level",
    "snooze_until",
    "snooze_event_limit",
    "snooze_user_limit",
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolveBody(Body):
    in_release: Release | None = Field(
        None, description="Resolved in this release: events from older releases do not reopen it."
    )
    in_next_release: bool = Field(False, description="Resolved in the release after the error's latest one.")

    @model_validator(mode="after")
    def _one_release(self) -> ResolveBody:
        if self.in_release is not None and self.in_next_release:
            raise ValueError("give in_release or in_next_release, not both")
        return self


class AssignBody(Body):
    developer_id: DeveloperId | None = None
    developer: Email | None = Field(None, description="The developer's e-mail address.")
    auto: bool = Field(False, description="The on-call developer for the error's project with the lightest workload.")

    @model_validator(mode="after")
    def _one_target(self) -> AssignBody:
        if (self.developer_id is not None) + (self.developer is not None) + self.auto != 1:
            raise ValueError("give exactly one of developer_id, developer (an e-mail address) or auto: true")
        return self


class EscalateBody(Body):
    reason: Reason
    developer_id: DeveloperId | None = Field(None, description="Escalate to this developer, not the next level.")


class IgnoreBody(Body):
    duration_minutes: int | None = Field(None, ge=1, le=10 * 366 * 24 * 60)
    until: Instant | None = None
    events: int | None = Field(None, ge=1, le=1_000_000_000, description="Until this many more events.")
    users: int | None = Field(None, ge=1, le=1_000_000_000, description="Until this many more users are affected.")

    @model_validator(mode="after")
    def _one_time(self) -> IgnoreBody:
        if self.duration_minutes is not None and self.until is not None:
            raise ValueError("give duration_minutes or until, not both")
        return self


class CommentBody(Body):
    body: CommentText


class NoBody(Body):
    pass


def invalid(field: str, message: str) -> ApiError:
    """A 422 shaped like the framework's validation errors: the field at fault, and the list of problems."""
    return ApiError(422, f"{field}: {message}", field=field, problems=[ValidationProblem(field=field, message=message)])


def load_issues(session: Session, ids: Iterable[int]) -> dict[int, Issue]:
    """The issues with these ids, locked for the change (PostgreSQL), with what ErrorOut shows loaded."""
    wanted = sorted({i for i in ids if 1 <= i <= MAX_BIG_ID})
    if not wanted:
        return {}
    query = (
        select(Issue)
        .where(Issue.id.in_(wanted))
        .options(joinedload(Issue.project), joinedload(Issue.assignee))
        .order_by(Issue.id)  # lock in one order, so two bulk changes cannot deadlock each other
        .with_for_update(of=Issue)
    )
    return {issue.id: issue for issue in session.scalars(query).unique()}


def load_issue(session: Session, error_id: int) -> Issue:
    issue = load_issues(session, [error_id]).get(error_id)
    if issue is None:
        raise ApiError(404, f"no error with id {error_id}")
    return issue


def find_developer(
    session: Session, *, developer_id: int | None = None, email: str | None = None, field: str | None = None
) -> Developer:
    """An active developer by id or e-mail, else a 422 naming the field that referred to them."""
    if developer_id is not None:
        where, developer = field or "body.developer_id", session.get(Developer, developer_id)
        missing = f"no developer with id {developer_id}"
    else:
        where = field or "body.developer"
        address = (email or "").lower()
        developer = session.scalars(select(Developer).where(func.lower(Developer.email) == address)).first()
        missing = f"no developer with e-mail {email}"
    if developer is None:
        raise invalid(where, missing)
    if not developer.is_active:
        raise invalid(where, f"developer {developer.name} (id {developer.id}) is inactive")
    return developer


@dataclass
class Run:
    """One request's actions: its context, and what stays the same for every error it changes."""

    ctx: ApiContext
    assigner: AutoAssigner | None = None

    def auto_assigner(self) -> AutoAssigner:
        if self.assigner is None:
            self.assigner = AutoAssigner(self.ctx.session, self.ctx.now)
        return self.assigner

    def acknowledger(self) -> str:
        developer = self.ctx.session.get(Developer, self.ctx.developer_id) if self.ctx.developer_id else None
        return developer.name if developer is not None else self.ctx.actor


def snapshot(issue: Issue) -> dict[str, Any]:
    return {name: getattr(issue, name) for name in AUDITED}


def audited(run: Run, issue: Issue, action: str, change: Callable[[], dict[str, Any] | None]) -> None:
    """Make one change to `issue` and audit it as `error.<action>` with the fields it changed, before and after."""
    before = snapshot(issue)
    extra = change() or {}
    issue.updated_at = run.ctx.now
    if before["assignee_id"] != issue.assignee_id:
        # Keep the loaded relationship in step with the column, for the response.
        issue.assignee = run.ctx.session.get(Developer, issue.assignee_id) if issue.assignee_id else None
    after = snapshot(issue)
    changed = [name for name in AUDITED if before[name] != after[name]]
    if "status" in changed:
        follow_incident(run.ctx, issue)
    run.ctx.audit(
        f"error.{action}",
        "error",
        issue.id,
        before={name: before[name] for name in changed},
        after={**{name: after[name] for name in changed}, **extra},
    )


def set_assignee(run: Run, issue: Issue, developer_id: int | None) -> None:
    if developer_id != issue.assignee_id:
        if run.assigner is not None:
            run.assigner.moved(issue, issue.assignee_id, developer_id)
        assign(issue, developer_id, now=run.ctx.now)


@dataclass(frozen=True)
class Action:
    """An action by name: its body, the once-per-request check, and the change to one issue."""

    name: str
    body: type[Body]
    apply: Callable[[Run, Issue, Any], dict[str, Any] | None]
    prepare: Callable[[Run, Any], Any] = lambda run, body: body


def _resolve(run: Run, issue: Issue, body: ResolveBody) -> None:
    resolve(issue, now=run.ctx.now, in_release=body.in_release, in_next_release=body.in_next_release)


def _prepare_assign(run: Run, body: AssignBody) -> int | None:
    if body.auto:
        run.auto_assigner()
        return None
    return find_developer(run.ctx.session, developer_id=body.developer_id, email=body.developer).id


def _assign(run: Run, issue: Issue, developer_id: int | None) -> dict[str, Any]:
    target = developer_id if developer_id is not None else run.auto_assigner().pick(issue)
    set_assignee(run, issue, target)
    return {"auto": True} if developer_id is None else {}


def _acknowledge(run: Run, issue: Issue, by: str) -> None:
    acknowledge(issue, by=by, now=run.ctx.now)


def _prepare_escalate(run: Run, body: EscalateBody) -> EscalateBody:
    if body.developer_id is not None:
        find_developer(run.ctx.session, developer_id=body.developer_id)
    return body


def _escalate(run: Run, issue: Issue, body: EscalateBody) -> dict[str, Any]:
    row = escalate(
        run.ctx.session,
        issue,
        now=run.ctx.now,
        actor=run.ctx.actor,
        reason=body.reason,
        to_developer_id=body.developer_id,
    )
    page_escalation(run.ctx, row)
    return {"escalation_id": row.id, "reason": row.reason}


def _prepare_ignore(run: Run, body: IgnoreBody) -> IgnoreBody:
    if body.until is not None and body.until <= run.ctx.now:
        raise invalid("body.until", "a snooze must end in the future")
    if body.duration_minutes is not None:
        return body.model_copy(update={"until": run.ctx.now + dt.timedelta(minutes=body.duration_minutes)})
    return body


def _ignore(run: Run, issue: Issue, body: IgnoreBody) -> None:
    ignore(issue, now=run.ctx.now, until=body.until, more_events=body.events, more_users=body.users)


def _reopen(run: Run, issue: Issue, body: NoBody) -> None:
    reopen(issue)


def _comment(run: Run, issue: Issue, body: CommentBody) -> dict[str, Any]:
    comment = Comment(issue_id=issue.id, author=run.ctx.actor, body=body.body, created_at=run.ctx.now)
    run.ctx.session.add(comment)
    run.ctx.session.flush()
    return {"comment_id": comment.id}


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("resolve", ResolveBody, _resolve),
        Action("acknowledge", NoBody, _acknowledge, lambda run, body: run.acknowledger()),
        Action("assign", AssignBody, _assign, _prepare_assign),
        Action("ignore", IgnoreBody, _ignore, _prepare_ignore),
        Action("reopen", NoBody, _reopen),
        Action("escalate", EscalateBody, _escalate, _prepare_escalate),
        Action("comment", CommentBody, _comment),
    )
}
ActionName = Literal["resolve", "acknowledge", "assign", "ignore", "reopen", "escalate", "comment"]


def perform(run: Run, issue: Issue, action: Action, prepared: Any) -> None:
    """Apply a prepared action to one issue, audited. Raises StateError or ApiError, having changed nothing."""
    audited(run, issue, action.name, lambda: action.apply(run, issue, prepared))
