"""`errlog heartbeat`: cron monitors that page when a scheduled job misses its check-in or reports a failure."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from db import audit
from db.heartbeats import HeartbeatError, check_in_path, create_heartbeat, find_heartbeat, snapshot
from db.models import Heartbeat, Project
from db.projects import dsn_public_keys, find_project
from db.types import utcnow
from errlog.cli.common import database_session, echo_fields, echo_json, echo_table, format_time, json_option
from errlog.settings import load_settings


@click.group("heartbeat")
def command() -> None:
    """Heartbeats (cron monitors): a job checks in every N minutes, or errlog raises a critical error."""


@command.command("add")
@click.option("--project", "project_ref", required=True, metavar="NAME", help="The project (name or id).")
@click.option("--slug", required=True, help="The monitor_slug the job checks in with, e.g. nightly-invoices.")
@click.option("--every", "interval", required=True, type=int, metavar="MINUTES", help="Expected check-in interval.")
@click.option("--grace", default=5, show_default=True, type=int, metavar="MINUTES", help="Lateness tolerated.")
@click.option("--name", default="", help="A readable name (the slug when left out).")
@json_option
def add(project_ref: str, slug: str, interval: int, grace: int, name: str, as_json: bool) -> None:
    """Create a heartbeat and print its check-in URL and a curl line for the job."""
    config = load_settings()
    with database_session(config) as session:
        project = find_project(session, project_ref)
        heartbeat = create_heartbeat(
            session, project.id, slug, interval_minutes=interval, grace_minutes=grace, name=name, now=utcnow()
        )
        audit.record(
            session,
            actor="cli",
            action="heartbeat.create",
            target_type="heartbeat",
            target_id=heartbeat.id,
            after=snapshot(heartbeat),
        )
        keys = dsn_public_keys(session, project.id)
        url = f"{config.public_url}{check_in_path(heartbeat, keys[0])}" if keys else None
        heartbeat_id, due = heartbeat.id, heartbeat.next_due_at
    if as_json:
        echo_json({"id": heartbeat_id, "project": project.name, "slug": slug, "check_in_url": url, "next_due_at": due})
        return
    click.echo(f"created heartbeat {slug} in {project.name} (id {heartbeat_id}): every {interval} min, grace {grace}")
    if url is None:
        click.echo("the project has no DSN key, so there is no check-in URL yet")
        return
    echo_fields([("check-in url", url), ("first due by", format_time(due))])
    click.echo("at the end of each run, the job calls:")
    click.echo(f"  curl -fsS -m 10 --retry 3 '{url}?status=ok'")
    click.echo("(status=error reports a failed run; status=in_progress when it starts)")


@command.command("list")
@click.option("--project", "project_ref", metavar="NAME", help="Only this project's heartbeats.")
@json_option
def list_heartbeats(project_ref: str | None, as_json: bool) -> None:
    """List heartbeats with their state, last check-in and next deadline."""
    with database_session(load_settings()) as session:
        query = select(Heartbeat, Project.name).join(Project).order_by(Project.name, Heartbeat.slug)
        if project_ref:
            query = query.where(Heartbeat.project_id == find_project(session, project_ref).id)
        rows: list[dict[str, Any]] = [
            {
                "id": heartbeat.id,
                "project": project_name,
                "slug": heartbeat.slug,
                "interval_minutes": heartbeat.interval_minutes,
                "grace_minutes": heartbeat.grace_minutes,
                "state": heartbeat.state if heartbeat.is_active else "paused",
                "last_check_in_at": heartbeat.last_check_in_at,
                "next_due_at": heartbeat.next_due_at,
            }
            for heartbeat, project_name in session.execute(query)
        ]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no heartbeats yet: add one with `errlog heartbeat add --project NAME --slug SLUG --every 60`")
    else:
        echo_table(
            ("ID", "PROJECT", "SLUG", "EVERY", "GRACE", "STATE", "LAST CHECK-IN", "DUE BY"),
            [
                (
                    row["id"],
                    row["project"],
                    row["slug"],
                    f"{row['interval_minutes']} min",
                    f"{row['grace_minutes']} min",
                    row["state"],
                    format_time(row["last_check_in_at"]),
                    format_time(row["next_due_at"]),
                )
                for row in rows
            ],
        )


@command.command("delete")
@click.option("--project", "project_ref", required=True, metavar="NAME", help="The project (name or id).")
@click.option("--slug", required=True, help="The heartbeat's slug.")
def delete(project_ref: str, slug: str) -> None:
    """Delete a heartbeat; its check-ins are refused from then on, the errors it raised stay."""
    with database_session(load_settings()) as session:
        project = find_project(session, project_ref)
        heartbeat = find_heartbeat(session, project.id, slug)
        if heartbeat is None:
            raise HeartbeatError(f"project {project.name} has no heartbeat {slug!r}")
        audit.record(
            session,
            actor="cli",
            action="heartbeat.delete",
            target_type="heartbeat",
            target_id=heartbeat.id,
            before=snapshot(heartbeat),
        )
        session.delete(heartbeat)
    click.echo(f"deleted heartbeat {slug} of {project.name}")
