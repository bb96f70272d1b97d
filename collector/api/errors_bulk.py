"""Bulk error actions: which errors (ids or a search query), the action's parameters, and per-error results."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from sqlalchemy import select

from collector.api.error_actions import (
    ACTIONS,
    Action,
    ActionName,
    Body,
    DeveloperId,
    ErrorId,
    NoNul,
    Run,
    invalid,
    load_issues,
    perform,
)
from collector.api.error_filters import search_conditions
from collector.api.framework import ApiError, ValidationProblem
from collector.api.inputs import omittable
from db.issue_query import QueryError
from db.issue_state import StateError
from db.models import Issue

MAX_BULK = 1000
SELECTION = ("ids", "q", "action")
EXACTLY_ONE_SELECTION: dict[str, Any] = {
    "if": {"required": ["ids"]},
    "then": {"not": {"required": ["q"]}},
    "else": {"required": ["q"]},
}


class BulkBody(Body):
    """Exactly one of `ids` or `q` selects the errors; the action's own parameters go beside them."""

    # Exactly one of ids and q, as the schema says too (if/then/else: a top-level oneOf reads as a union to tools).
    model_config = ConfigDict(json_schema_extra=EXACTLY_ONE_SELECTION)

    ids: list[ErrorId] = omittable(min_length=1, max_length=MAX_BULK)
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NoNul] = omittable(
        description="A search query, as for GET errors/ (e.g. `is:unresolved service:payments`)."
    )
    action: ActionName
    # The action's own parameters, as its single-error endpoint takes them; each is checked against the action.
    in_release: str | None = Field(None, description="resolve")
    in_next_release: bool | None = Field(None, description="resolve")
    developer_id: DeveloperId | None = Field(None, description="assign, escalate")
    developer: str | None = Field(None, description="assign: an e-mail address")
    auto: bool | None = Field(None, description="assign")
    reason: str | None = Field(None, description="escalate")
    duration_minutes: int | None = Field(None, description="ignore")
    until: AwareDatetime | None = Field(None, description="ignore")
    events: int | None = Field(None, description="ignore")
    users: int | None = Field(None, description="ignore")
    body: str | None = Field(None, description="comment")

    @model_validator(mode="after")
    def _one_selection(self) -> BulkBody:
        if (self.ids is None) == (self.q is None):
            raise ValueError("give ids or q (not both): the errors to change")
        return self

    def action_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set if name not in SELECTION}


class BulkResult(BaseModel):
    id: int
    ok: bool
    error: str | None = Field(None, description="Why this error was not changed.")


class BulkOut(BaseModel):
    action: str
    matched: int = Field(description="Errors selected (ids given, or matched by q).")
    succeeded: int
    failed: int
    results: list[BulkResult]


def action_params(body: BulkBody) -> tuple[Action, Any]:
    """The action and its parameters checked by the action's own body model, failures named as body fields."""
    action = ACTIONS[body.action]
    try:
        return action, action.body.model_validate(body.action_params())
    except ValidationError as exc:
        problems = [
            ValidationProblem(field=".".join(["body", *(str(p) for p in err["loc"])]), message=err["msg"])
            for err in exc.errors()
        ]
        first = problems[0]
        raise ApiError(422, f"{first.field}: {first.message}", field=first.field, problems=problems) from None


def selected_ids(run: Run, body: BulkBody) -> list[int]:
    if body.ids is not None:
        return list(dict.fromkeys(body.ids))
    assert body.q is not None
    return matching_ids(run, body.q)


def matching_ids(run: Run, q: str) -> list[int]:
    """The ids of the errors the search `q` matches (as GET errors/?q= reads it), if there are at most MAX_BULK."""
    try:
        conditions = search_conditions(q, me=run.ctx.developer_id, now=run.ctx.now)
    except (ApiError, QueryError) as exc:
        raise ApiError(400, str(exc), field="body.q") from None
    ids = list(run.ctx.session.scalars(select(Issue.id).where(*conditions).order_by(Issue.id).limit(MAX_BULK + 1)))
    if len(ids) > MAX_BULK:
        raise invalid("body.q", f"the search matches more than {MAX_BULK} errors: narrow it, or act on ids")
    return ids


def bulk_apply(run: Run, body: BulkBody) -> BulkOut:
    action, params = action_params(body)
    prepared = action.prepare(run, params)
    ids = selected_ids(run, body)
    issues = load_issues(run.ctx.session, ids)
    results = []
    for error_id in ids:
        issue = issues.get(error_id)
        if issue is None:
            results.append(BulkResult(id=error_id, ok=False, error=f"no error with id {error_id}"))
            continue
        try:
            perform(run, issue, action, prepared)
        except (StateError, ApiError) as exc:
            results.append(BulkResult(id=error_id, ok=False, error=str(exc)))
        else:
            results.append(BulkResult(id=error_id, ok=True, error=None))
    succeeded = sum(r.ok for r in results)
    return BulkOut(
        action=action.name, matched=len(ids), succeeded=succeeded, failed=len(results) - succeeded, results=results
    )
