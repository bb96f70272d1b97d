"""GET/POST developers/, GET/PATCH developers/{id}/: who can be paged, on which channels and when."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from collector.api.clock import ClockTime, format_clock
from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.inputs import omittable, path_row, storable
from db.developers import (
    NTFY_TOPIC,
    SLACK_ID,
    DeveloperError,
    add_developer,
    check_timezone,
    normalise_email,
    normalise_phone,
)
from db.enums import Channel, Role, Severity
from db.models import Developer

api = Api()

# The channel_preferences key that subscribes a developer to the daily summary (tasks/summary.py).
DAILY_SUMMARY = "daily_summary"
# A severity, or the daily summary: one Literal (not a union with Severity) so a bad key gets one clear message.
PreferenceKey = Literal["critical", "high", "medium", "low", "daily_summary"]
assert set(get_args(PreferenceKey)) == {*(s.value for s in Severity), DAILY_SUMMARY}

# Channels that reach one person, and the contact each needs. Team-wide channels (Slack, PagerDuty, webhooks)
# follow the project's routing, so a developer's preferences choose among these only.
PERSONAL_CONTACT = {
    Channel.EMAIL: ("email", "an e-mail address"),
    Channel.SMS: ("phone", "a phone number"),
    Channel.NTFY: ("ntfy_topic", "an ntfy topic"),
    Channel.PUSHOVER: ("pushover_user_key", "a Pushover user key"),
}
FIELDS = (
    "name",
    "email",
    "phone",
    "slack_id",
    "ntfy_topic",
    "pushover_user_key",
    "timezone",
    "channel_preferences",
    "quiet_hours_start",
    "quiet_hours_end",
    "is_active",
)


def _name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 100:
        raise ValueError("a developer needs a name of 1-100 characters")
    return value


def _slack_id(value: str) -> str:
    if not SLACK_ID.match(value):
        raise ValueError(f"invalid Slack member id {value!r}: expected letters and digits, e.g. U024BE7LH")
    return value


def _ntfy_topic(value: str) -> str:
    if not NTFY_TOPIC.match(value):
        raise ValueError(f"invalid ntfy topic {value!r}: use 1-64 letters, digits, '-' or '_'")
    return value


def _pushover_key(value: str) -> str:
    # Pushover's user and group keys are 30 characters of [A-Za-z0-9].
    if len(value) != 30 or not value.isascii() or not value.isalnum():
        raise ValueError(f"invalid Pushover user key {value!r}: expected 30 letters and digits")
    return value


def _preferences(value: dict[PreferenceKey, list[Channel]]) -> dict[str, list[str]]:
    checked: dict[str, list[str]] = {}
    for severity, channels in value.items():
        if severity == DAILY_SUMMARY:
            # The summary is a long read: e-mail only (the team's copy goes to the company Slack channel).
            if any(c != Channel.EMAIL for c in channels):
                raise ValueError(f'{DAILY_SUMMARY}: the daily summary goes by email only; use ["email"] or []')
            checked[DAILY_SUMMARY] = [c.value for c in dict.fromkeys(channels)]
            continue
        shared = [c.value for c in channels if c not in PERSONAL_CONTACT]
        if shared:
            raise ValueError(
                f"{severity}: {', '.join(shared)} follow the project's routing, not a developer's preferences; "
                f"choose from {', '.join(PERSONAL_CONTACT)}"
            )
        checked[str(severity)] = [c.value for c in dict.fromkeys(channels)]
    return checked


def _stored(preferences: dict[PreferenceKey, list[Channel]] | None) -> dict[str, list[str]] | None:
    return None if preferences is None else {str(k): [str(c) for c in v] for k, v in preferences.items()}


Name = Annotated[str, AfterValidator(storable), AfterValidator(_name)]
Email = Annotated[str, AfterValidator(storable), AfterValidator(normalise_email)]
Phone = Annotated[str, AfterValidator(normalise_phone)]
# The patterns document the checks in the schema; the validators keep their clearer messages.
SlackId = Annotated[str, AfterValidator(_slack_id), Field(json_schema_extra={"pattern": SLACK_ID.pattern})]
NtfyTopic = Annotated[str, AfterValidator(_ntfy_topic), Field(json_schema_extra={"pattern": NTFY_TOPIC.pattern})]
PushoverKey = Annotated[str, AfterValidator(_pushover_key), Field(json_schema_extra={"pattern": "^[A-Za-z0-9]{30}$"})]
TimeZone = Annotated[str, Field(max_length=64, examples=["Europe/Berlin"]), AfterValidator(check_timezone)]
Preferences = Annotated[
    dict[PreferenceKey, list[Channel]],
    AfterValidator(_preferences),
    Field(
        description="Severity -> the personal channels (email, sms, ntfy, pushover) this developer wants; "
        "an empty list means none for that severity, a missing severity means the project's defaults. "
        'The key "daily_summary" with ["email"] subscribes them to the daily summary.',
        examples=[{"critical": ["sms", "ntfy"], "medium": [], "daily_summary": ["email"]}],
    ),
]


class DeveloperOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    phone: str | None
    slack_id: str | None
    ntfy_topic: str | None
    pushover_user_key: str | None
    timezone: str
    channel_preferences: dict[str, list[str]] | None
    quiet_hours_start: ClockTime | None = Field(description="Local time in the developer's time zone.")
    quiet_hours_end: ClockTime | None
    is_active: bool
    created_at: dt.datetime


class DeveloperIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Ana Lima", "email": "ana@example.com", "timezone": "UTC"}]},
    )

    name: Name
    email: Email
    phone: Phone | None = Field(None, description="E.164, e.g. +4915123456789")
    slack_id: SlackId | None = None
    ntfy_topic: NtfyTopic | None = None
    pushover_user_key: PushoverKey | None = None
    timezone: TimeZone = "UTC"
    channel_preferences: Preferences | None = None
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None


class DeveloperPatch(BaseModel):
    """Only the fields sent change; null clears an optional field."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quiet_hours_start": "22:00"}]})

    name: Name = omittable()
    email: Email = omittable()
    phone: Phone | None = None
    slack_id: SlackId | None = None
    ntfy_topic: NtfyTopic | None = None
    pushover_user_key: PushoverKey | None = None
    timezone: TimeZone = omittable()
    channel_preferences: Preferences | None = None
    quiet_hours_start: ClockTime | None = None
    quiet_hours_end: ClockTime | None = None
    is_active: bool = omittable()


class DeveloperQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = Field(None, description="true: active developers only; false: inactive only.")


def snapshot(developer: Developer, fields: tuple[str, ...] = FIELDS) -> dict[str, Any]:
    """The developer's fields as the audit log stores them (times as HH:MM)."""
    values = {name: getattr(developer, name) for name in fields}
    return {k: format_clock(v) if isinstance(v, dt.time) else v for k, v in values.items()}


def _check_consistent(state: dict[str, Any]) -> None:
    """Rules across fields, checked on the developer as it will be: quiet hours and the contacts preferences need."""
    start, end = state["quiet_hours_start"], state["quiet_hours_end"]
    if (start is None) != (end is None):
        missing = "quiet_hours_end" if end is None else "quiet_hours_start"
        raise ApiError(422, f"body.{missing}: quiet hours need both a start and an end", field=f"body.{missing}")
    if start is not None and start == end:
        raise ApiError(422, "body.quiet_hours_end: quiet hours must end at another time", field="body.quiet_hours_end")
    for severity, channels in (state["channel_preferences"] or {}).items():
        for channel in channels:
            # Stored preferences may predate these checks: routing ignores names it cannot use, so do we.
            if channel not in PERSONAL_CONTACT:
                continue
            contact, what = PERSONAL_CONTACT[channel]
            if not state[contact]:
                raise ApiError(
                    422,
                    f"body.channel_preferences: {channel} for {severity} needs {what}; set {contact} too",
                    field="body.channel_preferences",
                )


def _email_taken(ctx: ApiContext, email: str, developer_id: int | None = None) -> None:
    owner = ctx.session.scalar(select(Developer.id).where(func.lower(Developer.email) == email))
    if owner is not None and owner != developer_id:
        raise ApiError(409, f"developer {owner} already has the e-mail address {email}", field="body.email")


def _developer(ctx: ApiContext, req: ApiRequest) -> Developer:
    return path_row(ctx.session, Developer, req, "developer_id", "developer")


@api.route(
    "GET",
    "/developers/",
    role=Role.VIEWER,
    summary="List developers with their contacts and paging preferences",
    tag="developers",
    query=DeveloperQuery,
    response=list[DeveloperOut],
)
def list_developers(ctx: ApiContext, req: ApiRequest) -> list[DeveloperOut]:
    """Everybody who can be assigned or paged, by name."""
    q: DeveloperQuery = req.query
    query = select(Developer).order_by(Developer.name, Developer.id)
    if q.active is not None:
        query = query.where(Developer.is_active.is_(q.active))
    return [DeveloperOut.model_validate(d) for d in ctx.session.scalars(query)]


@api.route(
    "POST",
    "/developers/",
    role=Role.ADMIN,
    summary="Add a developer",
    tag="developers",
    body=DeveloperIn,
    response=DeveloperOut,
    status=201,
)
def create_developer(ctx: ApiContext, req: ApiRequest) -> DeveloperOut:
    """Contacts are checked as `errlog developer add` checks them; the e-mail address must be new."""
    body: DeveloperIn = req.body
    _check_consistent(dict(body))
    _email_taken(ctx, body.email)
    try:
        developer = add_developer(
            ctx.session,
            name=body.name,
            email=body.email,
            phone=body.phone,
            slack_id=body.slack_id,
            ntfy_topic=body.ntfy_topic,
            timezone=body.timezone,
        )
    except DeveloperError as exc:
        raise ApiError(422, str(exc)) from None
    developer.pushover_user_key = body.pushover_user_key
    developer.channel_preferences = _stored(body.channel_preferences)
    developer.quiet_hours_start = body.quiet_hours_start
    developer.quiet_hours_end = body.quiet_hours_end
    ctx.session.flush()
    ctx.audit("developer.create", "developer", developer.id, after=snapshot(developer))
    return DeveloperOut.model_validate(developer)


@api.route(
    "GET",
    "/developers/{developer_id:int}/",
    role=Role.VIEWER,
    summary="One developer",
    tag="developers",
    response=DeveloperOut,
)
def get_developer(ctx: ApiContext, req: ApiRequest) -> DeveloperOut:
    return DeveloperOut.model_validate(_developer(ctx, req))


@api.route(
    "PATCH",
    "/developers/{developer_id:int}/",
    role=Role.ADMIN,
    summary="Change a developer's contacts, preferences, quiet hours or active state",
    tag="developers",
    body=DeveloperPatch,
    response=DeveloperOut,
)
def update_developer(ctx: ApiContext, req: ApiRequest) -> DeveloperOut:
    """Only the fields sent change; the audit entry holds the old and new values of those that did."""
    body: DeveloperPatch = req.body
    developer = _developer(ctx, req)
    sent = {name: getattr(body, name) for name in FIELDS if name in body.model_fields_set}
    before = snapshot(developer)
    state = {**{name: getattr(developer, name) for name in FIELDS}, **sent}
    _check_consistent(state)
    if "email" in sent and sent["email"] != developer.email:
        _email_taken(ctx, sent["email"], developer.id)
    if "channel_preferences" in sent:
        sent["channel_preferences"] = _stored(sent["channel_preferences"])
    for name, value in sent.items():
        setattr(developer, name, value)
    after = snapshot(developer)
    changed = tuple(name for name in FIELDS if before[name] != after[name])
    if changed:
        ctx.session.flush()
        ctx.audit(
            "developer.update",
            "developer",
            developer.id,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return DeveloperOut.model_validate(developer)
