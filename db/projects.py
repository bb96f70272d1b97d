"""Projects and their ingest keys: creating them and finding a project by a key."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import KeyKind
from db.keys import hash_secret, new_public_key, new_webhook_token
from db.models import Project, ProjectKey

PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ProjectError(ValueError):
    """A project cannot be created or found as asked; the message says why."""


@dataclass(frozen=True)
class NewProject:
    project: Project
    public_key: str
    webhook_token: str  # shown once: only its hash is stored


def create_project(session: Session, name: str, platform: str | None = None) -> NewProject:
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
