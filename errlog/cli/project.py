"""`errlog project`: create the projects (services) that send errors and list them with their DSNs."""

from __future__ import annotations

import re
from typing import Any

import click
from sqlalchemy import select

from db import audit
from db.models import Project
from db.projects import ProjectError, create_project, dsn_public_keys
from errlog.cli.common import database_session, echo_fields, echo_json, echo_table, format_time, json_option
from errlog.settings import load_settings

WEBHOOK_KINDS = ("laravel", "java", "frontend", "mobile", "generic")
PLATFORM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,49}$")


@click.group("project")
def command() -> None:
    """Projects: the services that send errors."""


@command.command("create")
@click.argument("name")
@click.option("--platform", help="The service's main platform, e.g. python, javascript, java, php, dart.")
@json_option
def create(name: str, platform: str | None, as_json: bool) -> None:
    """Create project NAME and print its DSN and webhook token (the token is shown only this once)."""
    if platform is not None and not PLATFORM.match(platform):
        raise ProjectError(f"invalid platform {platform!r}: use 1-50 lowercase letters, digits, '.', '_' or '-'")
    config = load_settings()
    with database_session(config) as session:
        new = create_project(session, name, platform)
        audit.record(
            session,
            actor="cli",
            action="project.create",
            target_type="project",
            target_id=new.project.id,
            after={"name": new.project.name, "platform": platform},
        )
    project_id = new.project.id
    dsn = config.dsn_for(new.public_key, project_id)
    if as_json:
        echo_json({"id": project_id, "name": new.project.name, "dsn": dsn, "webhook_token": new.webhook_token})
        return
    click.echo(f"created project {new.project.name} (id {project_id})")
    echo_fields(
        [
            ("dsn", dsn),
            (
                "webhook url",
                f"{config.public_url}/api/error-logging/webhook/<kind>/  (kind: {', '.join(WEBHOOK_KINDS)})",
            ),
            ("webhook token", new.webhook_token),
        ]
    )
    click.echo("the webhook token is shown only this once: store it now")


@command.command("list")
@json_option
def list_projects(as_json: bool) -> None:
    """List projects with their DSNs and grouping versions."""
    config = load_settings()
    with database_session(config) as session:
        rows: list[dict[str, Any]] = [
            {
                "id": project.id,
                "name": project.name,
                "platform": project.platform,
                "grouping_version": project.grouping_version,
                "dsns": [config.dsn_for(key, project.id) for key in dsn_public_keys(session, project.id)],
                "created_at": project.created_at,
            }
            for project in session.scalars(select(Project).order_by(Project.name))
        ]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no projects yet: create one with `errlog project create NAME`")
    else:
        echo_table(
            ("ID", "NAME", "PLATFORM", "GROUPING", "CREATED", "DSN"),
            [
                (
                    row["id"],
                    row["name"],
                    row["platform"],
                    f"v{row['grouping_version']}",
                    format_time(row["created_at"]),
                    ", ".join(row["dsns"]) or None,
                )
                for row in rows
            ],
        )
