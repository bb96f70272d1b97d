"""GET/POST projects/{id}/keys/, PATCH/DELETE projects/{id}/keys/{key_id}/: a project's ingest keys (Sentry DSN keys
and webhook tokens), for provisioning scripts that fetch a service's DSN, rotate a key or revoke a leaked token. The
same changes as `errlog project key`; running collectors pick them up within seconds (collector/directory.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest, not_found
from collector.api.inputs import Text, omittable, path_id
from db.enums import KeyKind, Role
from db.models import Project, ProjectKey
from db.projects import MAX_RATE_LIMIT, add_key, change_key, check_label, key_audit, revoke_key

# The schema shows the length and pattern; check_label is the CLI's rule (it also refuses labels of only what
# str.strip() removes, such as control separators, which the pattern's \S lets through).
Label = Annotated[Text, StringConstraints(min_length=1, max_length=100, pattern=r"\S"), AfterValidator(check_label)]
RateLimit = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_RATE_LIMIT,
        description="Events per minute this key may send; null: the collector's default (ERRLOG_RATE_LIMIT_PER_KEY).",
    ),
]

api = Api()


class KeyOut(BaseModel):
    id: int
    kind: KeyKind = Field(description="dsn: a Sentry DSN's public key; webhook: a JSON webhook token.")
    label: str
    rate_limit_per_minute: int | None
    active: bool = Field(description="False once revoked: its requests get 403.")
    dsn: str | None = Field(description="The DSN to give the SDK (DSN keys); a webhook token is never shown again.")
    created_at: dt.datetime


class NewKeyOut(BaseModel):
    key: KeyOut
    webhook_token: str | None = Field(
        description="A webhook key's token, for its X-Errlog-Token header. Shown this once; only a hash is kept."
    )


class KeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "dsn", "label": "ios-app", "rate_limit_per_minute": 600}]},
    )

    kind: KeyKind
    label: Label = "default"
    rate_limit_per_minute: RateLimit | None = None


class KeyPatch(BaseModel):
    """Only the fields sent change; a null rate limit gives the key the default one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rate_limit_per_minute": 120}]})

    label: Label = omittable()
    rate_limit_per_minute: RateLimit | None = None


def key_out(key: ProjectKey, ctx: ApiContext) -> KeyOut:
    return KeyOut(
        id=key.id,
        kind=key.kind,
        label=key.label,
        rate_limit_per_minute=key.rate_limit_per_minute,
        active=key.is_active,
        dsn=ctx.settings.dsn_for(key.key_lookup, key.project_id) if key.kind is KeyKind.DSN else None,
        created_at=key.created_at,
    )


def _project(ctx: ApiContext, req: ApiRequest) -> Project:
    project_id = path_id(req, "project_id", "project")
    project = ctx.session.get(Project, project_id)
    if project is None:
        raise not_found("project", project_id)
    return project


def _key(ctx: ApiContext, req: ApiRequest) -> ProjectKey:
    project = _project(ctx, req)
    key_id = path_id(req, "key_id", "key")
    key = ctx.session.get(ProjectKey, key_id)
    if key is None or key.project_id != project.id:
        raise ApiError(404, f"project {project.id} has no key with id {key_id}")
    return key


@api.route(
    "GET",
    "/projects/{project_id:int}/keys/",
    role=Role.VIEWER,
    summary="List a project's ingest keys",
    tag="projects",
    response=list[KeyOut],
)
def list_keys(ctx: ApiContext, req: ApiRequest) -> list[KeyOut]:
    """Its DSN keys and webhook tokens, revoked ones too, oldest first; webhook tokens themselves are never shown."""
    project = _project(ctx, req)
    keys = ctx.session.scalars(select(ProjectKey).where(ProjectKey.project_id == project.id).order_by(ProjectKey.id))
    return [key_out(key, ctx) for key in keys]


@api.route(
    "POST",
    "/projects/{project_id:int}/keys/",
    role=Role.ADMIN,
    summary="Add an ingest key to a project",
    tag="projects",
    body=KeyIn,
    response=NewKeyOut,
    status=201,
)
def create_key(ctx: ApiContext, req: ApiRequest) -> NewKeyOut:
    """A new DSN key, or a new webhook token (in the answer only: it cannot be read again). The project's other keys
    keep working until revoked, so services can move to the new one first."""
    body: KeyIn = req.body
    new = add_key(ctx.session, _project(ctx, req), body.kind, body.label, body.rate_limit_per_minute)
    ctx.audit("project.key.create", "project_key", new.key.id, after=key_audit(new.key))
    return NewKeyOut(key=key_out(new.key, ctx), webhook_token=new.secret if body.kind is KeyKind.WEBHOOK else None)


@api.route(
    "PATCH",
    "/projects/{project_id:int}/keys/{key_id:int}/",
    role=Role.ADMIN,
    summary="Change an ingest key's label or rate limit",
    tag="projects",
    body=KeyPatch,
    response=KeyOut,
)
def update_key(ctx: ApiContext, req: ApiRequest) -> KeyOut:
    """Only the fields sent change; running collectors apply a new rate limit within seconds."""
    body: KeyPatch = req.body
    key = _key(ctx, req)
    change = change_key(ctx.session, key, {name: getattr(body, name) for name in body.model_fields_set})
    if change.after:
        ctx.audit("project.key.update", "project_key", key.id, before=change.before, after=change.after)
    return key_out(key, ctx)


@api.route(
    "DELETE",
    "/projects/{project_id:int}/keys/{key_id:int}/",
    role=Role.ADMIN,
    summary="Revoke an ingest key",
    tag="projects",
)
def delete_key(ctx: ApiContext, req: ApiRequest) -> None:
    """Its requests get 403 within seconds on every running collector; the key stays listed as revoked. Revoking a
    revoked key changes nothing."""
    key = _key(ctx, req)
    if revoke_key(ctx.session, key):
        ctx.audit("project.key.revoke", "project_key", key.id, before={"active": True}, after={"active": False})
