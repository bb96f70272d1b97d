"""`errlog project`: create the projects (services) that send errors, list them with their DSNs, show and change
their settings (the same checks and audit entry as the REST API's PATCH projects/{id}/)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from db import audit
from db.models import Project
from db.projects import (
    SettingError,
    change_settings,
    create_project,
    dsn_public_keys,
    find_project,
    project_audit,
)
from errlog.cli.common import database_session, echo_fields, echo_json, echo_table, format_time, json_option
from errlog.cli.project_keys import command as key_command
from errlog.cli.project_settings import NONE, checked, echo_settings, requested, setting_error, settings_view
from errlog.settings import load_settings

WEBHOOK_KINDS = ("laravel", "java", "frontend", "mobile", "generic")


@click.group("project")
def command() -> None:
    """Projects: the services that send errors."""


@command.command("create")
@click.argument("name")
@click.option("--platform", help="The service's main platform, e.g. python, javascript, java, php, dart.")
@json_option
def create(name: str, platform: str | None, as_json: bool) -> None:
    """Create project NAME and print its DSN and webhook token (the token is shown only this once)."""
    config = load_settings()
    with database_session(config) as session:
        new = create_project(session, name, platform)
        audit.record(
            session,
            actor="cli",
            action="project.create",
            target_type="project",
            target_id=new.project.id,
            after=project_audit(new.project),
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


@command.command("show")
@click.argument("project")
@json_option
def show(project: str, as_json: bool) -> None:
    """Show PROJECT's settings (by name or id): alerting, routing, scrubbing, grouping, DSNs."""
    config = load_settings()
    with database_session(config) as session:
        settings = settings_view(session, config, find_project(session, project))
    echo_settings(settings, as_json)


@command.command("set")
@click.argument("project")
@click.option("--platform", help="The service's main platform, e.g. python, javascript, java, php, dart.")
@click.option("--team", metavar="TEAM", help=f"The team it belongs to (name or id); {NONE} for none.")
@click.option(
    "--fallback-developer",
    metavar="DEVELOPER",
    help=f"Paged when nobody is assigned or on call (e-mail or id); {NONE} for none.",
)
@click.option(
    "--alert-threshold",
    metavar="EVENTS/MINUTES",
    help=f"Alert when an error gets EVENTS events within MINUTES minutes, e.g. 100/5; {NONE} for no threshold.",
)
@click.option(
    "--max-events-per-minute",
    metavar="N",
    help=f"Alert when the whole project gets more than N events in one minute; {NONE} for no limit.",
)
@click.option(
    "--alert-environments",
    metavar="ENV[,ENV...]",
    help="Only errors from these environments page, e.g. production; all for every environment.",
)
@click.option(
    "--route",
    "routes",
    multiple=True,
    metavar="SEVERITY=CHANNEL[,CHANNEL...]",
    help="The channels that page for a severity, e.g. critical=sms,slack,pagerduty; SEVERITY= pages nobody. "
    "Repeat for several severities; the others keep theirs.",
)
@click.option(
    "--default-routing", is_flag=True, help="Drop the project's own routing: every severity pages as configured."
)
@click.option("--webhook-url", metavar="URL", help=f"Where its alerts are also posted as JSON; {NONE} for none.")
@click.option(
    "--scrub-ip-addresses/--keep-ip-addresses", default=None, help="Replace IP addresses in its events with [Filtered]."
)
@click.option(
    "--scrub-emails/--keep-emails", default=None, help="Replace e-mail addresses in its events with [Filtered]."
)
@click.option("--grouping-version", type=int, help="Move it to another grouping version (docs/guide.md).")
@json_option
def set_settings(project: str, as_json: bool, **options: Any) -> None:
    """Change PROJECT's settings (by name or id); only the options given change.

    The same checks as the REST API's PATCH /api/error-logging/projects/<id>/, audited as a change by "cli".
    Running collectors and workers pick it up without a restart.
    """
    config = load_settings()
    with database_session(config) as session:
        target = find_project(session, project)
        sent = checked(requested(session, target, options))
        try:
            change = change_settings(session, target, sent)
        except SettingError as exc:
            raise setting_error(exc) from None
        if change.after:
            audit.record(
                session,
                actor="cli",
                action="project.update",
                target_type="project",
                target_id=target.id,
                before=change.before,
                after=change.after,
            )
        settings = settings_view(session, config, target)
    if not as_json:
        click.echo(f"changed {', '.join(change.after)}" if change.after else "nothing changed")
    echo_settings(settings, as_json)


command.add_command(key_command)
