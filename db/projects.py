"""Projects and their ingest keys: creating them, finding a project by a key, and changing its settings."""

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
    if not PLATFORM.match(platform):
        raise ProjectError(f"invalid platform {platform!r}: use 1-50 lowercase letters, digits, '.', '_' or '-'")
    return platform


def create_project(session: Session, name: str, platform: str | None = None) -> NewProject:
    if platform is not None:
        check_platform(platform)
    if not PROJECT_NAME.match(name):
        raise ProjectError(
            f"invalid project name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise ProjectError(f"a project named {name!r} already exists")
    public_key, webhook_token = new_public_key(), new_webhook_token()
    project = Project(name=name, platform=platform)
    project.keys = [
        ProjectKey(kind=KeyKind.DSN, key_lookup=public_key),
        ProjectKey(kind=KeyKind.WEBHOOK, key_lookup=hash_secret(webhook_token)),
    ]
    session.add(project)
    session.flush()
    return NewProject(project=project, public_key=public_key, webhook_token=webhook_token)


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
    before = {name: getattr(project, name) for name in SETTINGS}
    if sent.get("grouping_version", project.grouping_version) != project.grouping_version:
        project.previous_grouping_version, project.grouping_moved_at = project.grouping_version, utcnow()
    for name, value in sent.items():
        setattr(project, name, value)
    changed = [name for name in SETTINGS if before[name] != getattr(project, name)]
    if changed:
        session.flush()
    return SettingsChange(
        before={name: _audited(name, before[name]) for name in changed},
        after={name: _audited(name, getattr(project, name)) for name in changed},
    )


def _audited(name: str, value: Any) -> Any:
    # Viewers read the audit log: keep a webhook URL's secret path out of it.
    return redacted_url(value) if name == "webhook_url" else value
