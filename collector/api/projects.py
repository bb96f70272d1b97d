"""GET/POST projects/, GET/PATCH projects/{id}/: the services that send errors, their DSNs and alert settings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest, not_found
from collector.api.inputs import RowId, Text, omittable, path_id
from collector.api.schemas import DeveloperRef
from collector.grouping import CURRENT_VERSION, VERSIONS
from db.enums import KeyKind, Role
from db.models import Project
from db.models.projects import GROUPING_TRANSITION
from db.projects import (
    PLATFORM,
    PROJECT_NAME,
    SETTINGS,
    SettingError,
    change_settings,
    check_platform,
    create_project,
    grouping_transition_until,
    project_audit,
    redacted_url,
)
from tasks.routing import RoutingError, check_routing

api = Api()


def _webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def _grouping_version(value: int) -> int:
    if value not in VERSIONS:
        raise ValueError(f"unknown grouping version {value}; known versions: {', '.join(map(str, VERSIONS))}")
    return value


def _environments(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("give at least one environment, or null for all of them")
    return list(dict.fromkeys(value))


def _routing(value: dict[str, Any]) -> dict[str, list[str]]:
    try:
        return check_routing(value)
    except RoutingError as exc:
        raise ValueError(str(exc)) from None


# The pattern documents the check in the schema; the validator keeps its clearer message.
WebhookUrl = Annotated[
    Text,
    StringConstraints(max_length=500),
    AfterValidator(_webhook_url),
    Field(json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+"}),
]
Platform = Annotated[
    Text,
    StringConstraints(strip_whitespace=True, max_length=50),
    AfterValidator(check_platform),
    Field(
        description="As Sentry names platforms: python, javascript-react, java, php, dart, ...",
        json_schema_extra={"pattern": PLATFORM.pattern},
    ),
]
Environment = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Routing = Annotated[
    dict[str, Any],
    AfterValidator(_routing),
    Field(
        description="Severity -> channels, overriding the company-wide matrix for this project.",
        examples=[{"critical": ["sms", "slack", "pagerduty"], "medium": []}],
    ),
]


class TeamRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class ProjectOut(BaseModel):
    id: int
    name: str
    platform: str | None
    dsns: list[str] = Field(description="Sentry DSNs of the project's active public keys.")
    team: TeamRef | None
    fallback_developer: DeveloperRef | None = Field(description="Paged when nobody is assigned or on call.")
    alert_threshold_events: int | None
    alert_threshold_minutes: int | None
    max_events_per_minute: int | None = Field(
        description="Alert when the whole project receives more events than this in one minute; null: no limit."
    )
    alert_environments: list[str] | None = Field(description="Environments that page; null: all.")
    routing: dict[str, Any] | None
    webhook_url: str | None = Field(description="Shown whole to admins only: such URLs often carry a secret.")
    scrub_ip_addresses: bool
    scrub_emails: bool
    grouping_version: int = Field(
        description="The grouping its new events are fingerprinted by (docs/guide.md, grouping versions)."
    )
    grouping_transition_until: dt.datetime | None = Field(
        description="After a move to another grouping version, until when events whose new fingerprint names no error "
        "still join the error their previous version's fingerprint names; null when no transition is under way."
    )
    created_at: dt.datetime


class ProjectIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "orders-api", "platform": "python"}]}
    )

    name: Annotated[
        Text,
        StringConstraints(pattern=PROJECT_NAME.pattern),
        Field(description="1-100 letters, digits, '.', '_' or '-', starting with a letter or digit; unique."),
    ]
    platform: Platform | None = None


class NewProjectOut(BaseModel):
    project: ProjectOut
    webhook_token: str = Field(
        description="The JSON webhooks' token (X-Errlog-Token). Shown this once; only a hash is kept."
    )


class ProjectPatch(BaseModel):
    """Only the fields sent change; null clears an optional field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"alert_threshold_events": 100, "alert_threshold_minutes": 5}]},
    )

    platform: Platform | None = None
    team_id: RowId | None = None
    fallback_developer_id: RowId | None = None
    alert_threshold_events: int | None = Field(None, ge=1, le=10_000_000)
    alert_threshold_minutes: int | None = Field(None, ge=1, le=60 * 24 * 7)
    max_events_per_minute: int | None = Field(
        None, ge=1, le=10_000_000, description="Events per minute of the whole project above which it alerts."
    )
    alert_environments: Annotated[list[Environment], AfterValidator(_environments)] | None = Field(None, max_length=50)
    routing: Routing | None = None
    webhook_url: WebhookUrl | None = None
    scrub_ip_addresses: bool = omittable()
    scrub_emails: bool = omittable()
    grouping_version: Annotated[int, AfterValidator(_grouping_version)] = omittable(
        description=f"Move the project to another grouping ({', '.join(map(str, VERSIONS))}; the newest is "
        f"{CURRENT_VERSION}): its later events are fingerprinted by it. For {GROUPING_TRANSITION.days} days, an "
        "event whose new fingerprint names no error yet joins the error its previous fingerprint names, so the move "
        "splits nothing."
    )


def project_out(project: Project, ctx: ApiContext) -> ProjectOut:
    """From a project loaded with keys, team and fallback developer."""
    return ProjectOut(
        id=project.id,
        name=project.name,
        platform=project.platform,
        dsns=[
            ctx.settings.dsn_for(key.key_lookup, project.id)
            for key in sorted(project.keys, key=lambda k: k.id)
            if key.kind == KeyKind.DSN and key.is_active
        ],
        team=TeamRef.model_validate(project.team) if project.team else None,
        fallback_developer=DeveloperRef.model_validate(project.fallback_developer)
        if project.fallback_developer
        else None,
        alert_threshold_events=project.alert_threshold_events,
        alert_threshold_minutes=project.alert_threshold_minutes,
        max_events_per_minute=project.max_events_per_minute,
        alert_environments=project.alert_environments,
        routing=project.routing,
        webhook_url=project.webhook_url if ctx.token.role == Role.ADMIN else redacted_url(project.webhook_url),
        scrub_ip_addresses=project.scrub_ip_addresses,
        scrub_emails=project.scrub_emails,
        grouping_version=project.grouping_version,
        grouping_transition_until=grouping_transition_until(project),
        created_at=project.created_at,
    )


def _query() -> Any:
    return select(Project).options(
        selectinload(Project.keys), selectinload(Project.team), selectinload(Project.fallback_developer)
    )


def _project(ctx: ApiContext, project_id: int) -> Project:
    project = ctx.session.scalars(_query().where(Project.id == project_id)).first()
    if project is None:
        raise not_found("project", project_id)
    return project


@api.route(
    "GET", "/projects/", role=Role.VIEWER, summary="List projects (services)", tag="projects", response=list[ProjectOut]
)
def list_projects(ctx: ApiContext, req: ApiRequest) -> list[ProjectOut]:
    """Every project by name, with the DSNs its services use and its alert settings."""
    return [project_out(p, ctx) for p in ctx.session.scalars(_query().order_by(Project.name))]


@api.route(
    "POST",
    "/projects/",
    role=Role.ADMIN,
    summary="Create a project (a service), with a DSN and a webhook token",
    tag="projects",
    body=ProjectIn,
    response=NewProjectOut,
    status=201,
)
def add_project(ctx: ApiContext, req: ApiRequest) -> NewProjectOut:
    """As `errlog project create`: its SDKs can send with the DSN at once, and more keys can follow (keys/)."""
    body: ProjectIn = req.body
    if ctx.session.scalar(select(Project.id).where(Project.name == body.name)) is not None:
        raise ApiError(409, f"a project named {body.name!r} already exists", field="body.name")
    new = create_project(ctx.session, body.name, body.platform)  # the model checked name and platform alike
    ctx.audit("project.create", "project", new.project.id, after=project_audit(new.project))
    return NewProjectOut(project=project_out(_project(ctx, new.project.id), ctx), webhook_token=new.webhook_token)


@api.route(
    "GET", "/projects/{project_id:int}/", role=Role.VIEWER, summary="One project", tag="projects", response=ProjectOut
)
def get_project(ctx: ApiContext, req: ApiRequest) -> ProjectOut:
    return project_out(_project(ctx, path_id(req, "project_id", "project")), ctx)


@api.route(
    "PATCH",
    "/projects/{project_id:int}/",
    role=Role.ADMIN,
    summary="Change a project's team, fallback contact, alert thresholds and rate limit, routing, webhook or scrubbing",
    tag="projects",
    body=ProjectPatch,
    response=ProjectOut,
)
def update_project(ctx: ApiContext, req: ApiRequest) -> ProjectOut:
    """Only the fields sent change; the audit entry holds the old and new values of those that did."""
    body: ProjectPatch = req.body
    project = _project(ctx, path_id(req, "project_id", "project"))
    sent = {name: getattr(body, name) for name in SETTINGS if name in body.model_fields_set}
    try:
        change = change_settings(ctx.session, project, sent)
    except SettingError as exc:
        raise ApiError(422, f"body.{exc.field}: {exc.reason}", field=f"body.{exc.field}") from None
    if change.after:
        ctx.audit("project.update", "project", project.id, before=change.before, after=change.after)
    # Reload, so the team and fallback developer shown are the new ones.
    ctx.session.expire(project)
    return project_out(_project(ctx, project.id), ctx)
