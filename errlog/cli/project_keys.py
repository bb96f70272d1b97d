"""`errlog project key`: a project's ingest keys (DSN keys and webhook tokens): list them, add one, give one a label
or a rate limit of its own, revoke one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

from db import audit
from db.enums import KeyKind
from db.models import ProjectKey
from db.projects import (
    ProjectError,
    add_key,
    change_key,
    check_rate_limit,
    find_key,
    find_project,
    key_audit,
    revoke_key,
)
from errlog.cli.common import database_session, echo_fields, echo_json, echo_table, format_time, json_option
from errlog.cli.project_settings import NONE, clears
from errlog.settings import load_settings

if TYPE_CHECKING:
    from errlog.settings import Settings

KINDS = {"dsn": KeyKind.DSN, "webhook": KeyKind.WEBHOOK}


@click.group("key")
def command() -> None:
    """A project's ingest keys: DSN keys and webhook tokens."""


@command.command("list")
@click.argument("project")
@json_option
def list_keys(project: str, as_json: bool) -> None:
    """List PROJECT's keys (by name or id), revoked ones too; webhook tokens themselves are never shown again."""
    config = load_settings()
    with database_session(config) as session:
        target = find_project(session, project)
        keys = session.scalars(select(ProjectKey).where(ProjectKey.project_id == target.id).order_by(ProjectKey.id))
        rows = [_key_row(key, config) for key in keys]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ("ID", "KIND", "LABEL", "RATE LIMIT", "STATE", "CREATED", "DSN"),
        [
            (
                row["id"],
                row["kind"],
                row["label"],
                f"{row['rate_limit_per_minute']}/min" if row["rate_limit_per_minute"] else "default",
                "active" if row["active"] else "revoked",
                format_time(row["created_at"]),
                row["dsn"],
            )
            for row in rows
        ],
    )


@command.command("add")
@click.argument("project")
@click.option("--kind", type=click.Choice(sorted(KINDS)), required=True, help="A Sentry DSN key or a webhook token.")
@click.option("--label", default="default", show_default=True, help="What the key is for, e.g. ios-app or ci.")
@click.option(
    "--rate-limit", metavar="N", help="Events per minute this key may send (default: ERRLOG_RATE_LIMIT_PER_KEY)."
)
@json_option
def add(project: str, kind: str, label: str, rate_limit: str | None, as_json: bool) -> None:
    """Add a key to PROJECT and print it: a DSN, or a webhook token (shown only this once). The project's other keys
    keep working until revoked, so services can move to the new one first."""
    config = load_settings()
    with database_session(config) as session:
        target = find_project(session, project)
        new = add_key(session, target, KINDS[kind], label, _rate_limit(rate_limit))
        audit.record(
            session,
            actor="cli",
            action="project.key.create",
            target_type="project_key",
            target_id=new.key.id,
            after=key_audit(new.key),
        )
        row = _key_row(new.key, config)
    secret = {"dsn": row["dsn"]} if kind == "dsn" else {"webhook_token": new.secret}
    if as_json:
        echo_json({**row, **secret})
        return
    click.echo(f"added {kind} key {row['id']} to project {target.name}")
    echo_fields([(name.replace("_", " "), value) for name, value in secret.items()])
    if kind == "webhook":
        click.echo("the webhook token is shown only this once: store it now")


@command.command("set")
@click.argument("key_id", type=int)
@click.option("--label", help="What the key is for.")
@click.option("--rate-limit", metavar="N", help=f"Events per minute this key may send; {NONE} for the default.")
def set_key(key_id: int, label: str | None, rate_limit: str | None) -> None:
    """Give key KEY_ID (see `errlog project key list`) a label or a rate limit of its own."""
    if label is None and rate_limit is None:
        raise ProjectError("nothing to change: give --label or --rate-limit")
    with database_session(load_settings()) as session:
        key = find_key(session, key_id)
        sent: dict[str, Any] = {}
        if label is not None:
            sent["label"] = label
        if rate_limit is not None:
            sent["rate_limit_per_minute"] = _rate_limit(rate_limit)
        change = change_key(session, key, sent)
        if change.after:
            audit.record(
                session,
                actor="cli",
                action="project.key.update",
                target_type="project_key",
                target_id=key.id,
                before=change.before,
                after=change.after,
            )
    changed = ", ".join(change.after)
    click.echo(f"key {key_id}: changed {changed}" if changed else f"key {key_id}: nothing changed")


@command.command("revoke")
@click.argument("key_id", type=int)
def revoke(key_id: int) -> None:
    """Revoke key KEY_ID: services still using it get 403 within seconds, on every running collector."""
    with database_session(load_settings()) as session:
        key = find_key(session, key_id)
        kind, project_name = key.kind.value, key.project.name
        revoked = revoke_key(session, key)
        if revoked:
            audit.record(
                session,
                actor="cli",
                action="project.key.revoke",
                target_type="project_key",
                target_id=key.id,
                before={"active": True},
                after={"active": False},
            )
    if revoked:
        click.echo(f"revoked {kind} key {key_id} of project {project_name}")
    else:
        click.echo(f"{kind} key {key_id} of project {project_name} was already revoked")


def _rate_limit(value: str | None) -> int | None:
    if value is None or clears(value):
        return None
    try:
        limit = int(value.strip())
    except ValueError:
        raise ProjectError(f"invalid rate limit {value.strip()!r}: give events per minute, or {NONE}") from None
    return check_rate_limit(limit)


def _key_row(key: ProjectKey, config: Settings) -> dict[str, Any]:
    return {
        "id": key.id,
        "kind": key.kind.value,
        "label": key.label,
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "active": key.is_active,
        "created_at": key.created_at,
        "dsn": config.dsn_for(key.key_lookup, key.project_id) if key.kind is KeyKind.DSN else None,
    }
