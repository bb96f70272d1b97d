"""The write side of errors/: patch, resolve, assign, acknowledge, escalate, ignore, reopen, comment, and bulk."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from collector.api.error_actions import (
    ACTIONS,
    AssignBody,
    Body,
    CommentBody,
    DeveloperId,
    EscalateBody,
    IgnoreBody,
    NoBody,
    ResolveBody,
    Run,
    audited,
    find_developer,
    load_issue,
    perform,
    set_assignee,
)
from collector.api.errors_bulk import BulkBody, BulkOut, bulk_apply
from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.inputs import omittable
from collector.api.schemas import ErrorOut, error_out
from db.enums import IssueStatus, Role, Severity
from db.issue_state import StateError, acknowledge, ignore, reopen, resolve
from db.models import Issue

api = Api()
ERROR = "/errors/{error_id:int}/"
TAG = "errors"


class ErrorPatch(Body):
    status: IssueStatus = omittable(description="Changed through the same transitions as the actions.")
    severity: Severity = omittable()
    assignee_id: DeveloperId | None = Field(None, description="null to unassign.")

    @model_validator(mode="after")
    def _something(self) -> ErrorPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of status, severity or assignee_id")
        return self


def _act(ctx: ApiContext, req: ApiRequest, name: str) -> ErrorOut:
    action = ACTIONS[name]
    run = Run(ctx)
    prepared = action.prepare(run, req.body)
    issue = load_issue(ctx.session, req.path["error_id"])
    try:
        perform(run, issue, action, prepared)
    except StateError as exc:
        raise ApiError(409, str(exc)) from None
    return error_out(issue)


def _change_status(run: Run, issue: Issue, status: IssueStatus) -> None:
    now = run.ctx.now
    if status == IssueStatus.RESOLVED:
        audited(run, issue, "resolve", lambda: resolve(issue, now=now))
    elif status == IssueStatus.ACKNOWLEDGED:
        audited(run, issue, "acknowledge", lambda: acknowledge(issue, by=run.acknowledger(), now=now))
    elif status == IssueStatus.IGNORED:
        audited(run, issue, "ignore", lambda: ignore(issue, now=now))
    elif issue.status == IssueStatus.ACKNOWLEDGED:
        raise StateError(f"error {issue.id} is acknowledged: it cannot be un-acknowledged; resolve or ignore it")
    else:
        audited(run, issue, "reopen", lambda: reopen(issue))


@api.route(
    "PATCH",
    ERROR,
    role=Role.RESPONDER,
    summary="Change an error's status, severity or assignee",
    tag=TAG,
    body=ErrorPatch,
    response=ErrorOut,
)
def update_error(ctx: ApiContext, req: ApiRequest) -> ErrorOut:
    """Status changes go through the same transitions as the actions (resolve, acknowledge, ignore forever,
    reopen); setting a field to the value it has changes nothing. Each part is audited on its own."""
    body: ErrorPatch = req.body
    run = Run(ctx)
    assignee = None
    if "assignee_id" in body.model_fields_set and body.assignee_id is not None:
        assignee = find_developer(ctx.session, developer_id=body.assignee_id, field="body.assignee_id").id
    issue = load_issue(ctx.session, req.path["error_id"])
    try:
        # Status first: it is the only part that can be refused, and nothing has changed yet if it is.
        if body.status is not None and body.status != issue.status:
            _change_status(run, issue, body.status)
    except StateError as exc:
        raise ApiError(409, str(exc)) from None
    if body.severity is not None and body.severity != issue.severity:
        severity = body.severity
        audited(run, issue, "severity", lambda: setattr(issue, "severity", severity))
    if "assignee_id" in body.model_fields_set and assignee != issue.assignee_id:
        audited(run, issue, "assign", lambda: set_assignee(run, issue, assignee))
    return error_out(issue)


def _action_route(name: str, body: type[BaseModel] | None, summary: str, doc: str) -> None:
    def handler(ctx: ApiContext, req: ApiRequest) -> ErrorOut:
        if req.body is None:
            req.body = NoBody()
        return _act(ctx, req, name)

    handler.__name__ = f"{name}_error"
    handler.__doc__ = doc
    api.route("POST", f"{ERROR}{name}/", role=Role.RESPONDER, summary=summary, tag=TAG, body=body, response=ErrorOut)(
        handler
    )


_action_route(
    "resolve",
    ResolveBody,
    "Resolve an error now, in a release or in the next release",
    "Events from a release older than the one it is resolved in do not reopen it.",
)
_action_route(
    "assign",
    AssignBody,
    "Assign an error to a developer, or to the least loaded on-call developer",
    "`auto`: of the level-1 on-call developers for the error's project, the one with the fewest open assigned "
    "errors (critical ones weigh more); 409 when nobody is on call.",
)
_action_route(
    "acknowledge",
    None,
    "Acknowledge an error",
    "Records who acknowledged it: the token's developer, or the token's name.",
)
_action_route(
    "escalate",
    EscalateBody,
    "Escalate an error to the next on-call level or to a named developer",
    "Without developer_id: the on-call developer one level up (escalation level + 1), else that level's "
    "escalation-chain step; 409 when there is nobody there. The error is reassigned and marked escalating.",
)
_action_route(
    "ignore",
    IgnoreBody,
    "Ignore an error forever, for a while, or until N more events or users",
    "With nothing given the error is ignored for good; otherwise it wakes when the first condition is met.",
)
_action_route("reopen", None, "Reopen a resolved or ignored error", "The error becomes unresolved again.")
_action_route("comment", CommentBody, "Comment on an error", "The comment's author is the token's name.")


@api.route(
    "POST",
    "/errors/bulk/",
    role=Role.RESPONDER,
    summary="Apply one action to many errors",
    tag=TAG,
    body=BulkBody,
    response=BulkOut,
)
def bulk_update_errors(ctx: ApiContext, req: ApiRequest) -> BulkOut:
    """The same actions on a list of ids or on the errors a search query `q` matches (at most 1000), with the
    action's parameters beside them. Each error succeeds or fails on its own; the results say which and why."""
    return bulk_apply(Run(ctx), req.body)
