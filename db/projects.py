"""Projects and their ingest keys: creating them, finding a project by a key, changing its settings, and its keys
after its creation (another DSN key to rotate to, a new webhook token when one was lost or leaked, a label and a rate
limit each, revoking one). Running collectors read the active keys every few seconds (collector/directory.py): a new
key works at once, a revoked one stops within that time."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import KeyKind
from db.keys import hash_secret, new_public_key, new_webhook_token
from db.models import Developer, Project, ProjectKey, Team
from db.models.projects import GROUPING_TRANSITION
from db.types import utcnow

# What an admin may change on a project (the REST API's PATCH projects/{id}/ and `errlog project set`).
SETTINGS = (
    "platform",
    "team_id",
    "fallback_developer_id",
    "alert_threshold_events",
    "alert_threshold_minutes",
    "max_events_per_minute",
    "alert_environments",
    "routing",
    "webhook_url",
    "scrub_ip_addresses",
    "scrub_emails",
    "grouping_version",
)

PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_RATE_LIMIT = 10_000_000  # events per minute a key may send, as the API's per-project limit
PLATFORM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,49}$")  # as Sentry names them: python, javascript-react, ...


class ProjectError(ValueError):
    """A project cannot be created or found as asked; the message says why."""


class SettingError(ProjectError):
    """A setting cannot take the value asked for, given the others or the rows it names."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SettingsChange:
    """The settings that changed, old and new values, as the audit log keeps them (webhook URLs shortened)."""

    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class NewProject:
    project: Project
    public_key: str
    webhook_token: str  # shown once: only its hash is stored


def check_platform(platform: str) -> str:
    if not PLATFORM.fullmatch(platform):
        raise ProjectError(f"invalid platform {platform!r}: use 1-50 lowercase letters, digits, '.', '_' or '-'")
    return platform


def create_project(session: Session, name: str, platform: str | None = None) -> NewProject:
    """A project with one DSN key and one webhook token; `errlog project create` and POST projects/."""
    if platform is not None:
        check_platform(platform)
    if not PROJECT_NAME.fullmatch(name):
        raise ProjectError(
            f"invalid project name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise ProjectError(f"a project named {name!r} already exists")
    dsn, webhook = new_key(KeyKind.DSN), new_key(KeyKind.WEBHOOK)
    project = Project(name=name, platform=platform)
    project.keys = [dsn.key, webhook.key]
    session.add(project)
    session.flush()
    return NewProject(project=project, public_key=dsn.secret, webhook_token=webhook.secret)


def project_audit(project: Project) -> dict[str, Any]:
    """What the audit log keeps of a new project."""
    return {"name": project.name, "platform": project.platform}


@dataclass(frozen=True)
class NewKey:
    key: ProjectKey
    secret: str  # the DSN public key, or the webhook token: shown once, as only its hash is stored


def new_key(kind: KeyKind, label: str = "default", rate_limit_per_minute: int | None = None) -> NewKey:
    """A key of no project yet, not in the session."""
    check_label(label)
    check_rate_limit(rate_limit_per_minute)
    secret = new_public_key() if kind is KeyKind.DSN else new_webhook_token()
    lookup = secret if kind is KeyKind.DSN else hash_secret(secret)
    key = ProjectKey(kind=kind, key_lookup=lookup, label=label, rate_limit_per_minute=rate_limit_per_minute)
    return NewKey(key, secret)


def add_key(
    session: Session, project: Project, kind: KeyKind, label: str = "default", rate_limit_per_minute: int | None = None
) -> NewKey:
    new = new_key(kind, label, rate_limit_per_minute)
    new.key.project_id = project.id
    session.add(new.key)
    session.flush()
    return new


def find_key(session: Session, key_id: int) -> ProjectKey:
    key = session.get(ProjectKey, key_id)
    if key is None:
        raise ProjectError(f"no key with id {key_id}")
    return key


def revoke_key(session: Session, key: ProjectKey) -> bool:
    """Whether the key was active (and now is not): revoking twice changes nothing the second time."""
    if not key.is_active:
        return False
    key.is_active = False
    session.flush()
    return True


def change_key(session: Session, key: ProjectKey, sent: dict[str, Any]) -> SettingsChange:
    """Sets a key's `label` or `rate_limit_per_minute` (None: the default limit), whichever `sent` holds, after
    checking them; the change as the audit log keeps it. The REST API's PATCH and `errlog project key set`."""
    for name, value in sent.items():
        if name == "label":
            check_label(value)
        elif name == "rate_limit_per_minute":
            check_rate_limit(value)
        else:
            raise SettingError(name, "not a setting of a key: give label or rate_limit_per_minute")
    return _apply(session, key, sent, tuple(sent))


def key_audit(key: ProjectKey) -> dict[str, Any]:
    """What the audit log keeps of a new key: never its secret."""
    return {
        "project_id": key.project_id,
        "kind": key.kind.value,
        "label": key.label,
        "rate_limit_per_minute": key.rate_limit_per_minute,
    }


def check_label(label: str) -> str:
    if not label.strip() or len(label) > 100:
        raise ProjectError(f"invalid label {label!r}: use 1-100 characters")
    return label


def check_rate_limit(limit: int | None) -> int | None:
    if limit is not None and not 1 <= limit <= MAX_RATE_LIMIT:
        raise ProjectError(f"invalid rate limit {limit}: give 1-{MAX_RATE_LIMIT:,} events per minute, or none")
    return limit


def find_project(session: Session, name_or_id: str) -> Project:
    query = select(Project).where(Project.name == name_or_id)
    if name_or_id.isdigit():
        query = select(Project).where((Project.id == int(name_or_id)) | (Project.name == name_or_id))
    project = session.scalars(query).first()
    if project is None:
        raise ProjectError(f"no project named {name_or_id!r}")
    return project


def dsn_public_keys(session: Session, project_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ProjectKey.key_lookup).where(
                ProjectKey.project_id == project_id,
                ProjectKey.kind == KeyKind.DSN,
                ProjectKey.is_active.is_(True),
            )
        )
    )


def project_for_key(session: Session, kind: KeyKind, presented: str) -> ProjectKey | None:
    """The active key matching what a client presented (the raw DSN key, or a webhook token)."""
    lookup = presented if kind is KeyKind.DSN else hash_secret(presented)
    return session.scalars(
        select(ProjectKey).where(
            ProjectKey.kind == kind, ProjectKey.key_lookup == lookup, ProjectKey.is_active.is_(True)
        )
    ).first()


def grouping_transition_until(project: Project) -> dt.datetime | None:
    """The end of the project's move to another grouping version, while it lasts."""
    if project.grouping_moved_at is None or project.previous_grouping_version is None:
        return None
    end = project.grouping_moved_at + GROUPING_TRANSITION
    return end if end > utcnow() else None


def redacted_url(url: str | None) -> str | None:
    """A webhook URL without its path, which often carries a secret: for viewers and the audit log."""
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…"


def change_settings(session: Session, project: Project, sent: dict[str, Any]) -> SettingsChange:
    """Sets the `sent` settings (names from SETTINGS, values already checked one by one) on `project`, after the
    checks that need the other settings or the database. A move to another grouping version starts its transition:
    for a while, events find the issues their previous fingerprints name (collector/storage.py)."""
    state = {**{name: getattr(project, name) for name in SETTINGS}, **sent}
    if (state["alert_threshold_events"] is None) != (state["alert_threshold_minutes"] is None):
        missing = "alert_threshold_minutes" if state["alert_threshold_minutes"] is None else "alert_threshold_events"
        raise SettingError(missing, "a threshold needs both a number of events and minutes")
    if sent.get("team_id") is not None and session.get(Team, sent["team_id"]) is None:
        raise SettingError("team_id", f"no team with id {sent['team_id']}")
    if sent.get("fallback_developer_id") is not None:
        developer = session.get(Developer, sent["fallback_developer_id"])
        if developer is None or not developer.is_active:
            problem = "is inactive" if developer else "does not exist"
            raise SettingError("fallback_developer_id", f"developer {sent['fallback_developer_id']} {problem}")
    if sent.get("grouping_version", project.grouping_version) != project.grouping_version:
        project.previous_grouping_version, project.grouping_moved_at = project.grouping_version, utcnow()
    return _apply(session, project, sent, SETTINGS)


def _apply(session: Session, row: Project | ProjectKey, sent: dict[str, Any], names: tuple[str, ...]) -> SettingsChange:
    """Sets the `sent` values on `row`; what changed of `names`, flushed if anything did."""
    before = {name: getattr(row, name) for name in names}
    for name, value in sent.items():
        setattr(row, name, value)
    changed = [name for name in names if before[name] != getattr(row, name)]
    if changed:
        session.flush()
    return SettingsChange(
        before={name: _audited(name, before[name]) for name in changed},
        after={name: _audited(name, getattr(row, name)) for name in changed},
    )


def _audited(name: str, value: Any) -> Any:
    # Viewers read the audit log: keep a webhook URL's secret path out of it.
    return redacted_url(value) if name == "webhook_url" else value
