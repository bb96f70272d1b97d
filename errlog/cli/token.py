"""`errlog token`: issue, list and revoke the API tokens the REST API and the TUI authenticate with."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import inspect, select

from db import audit
from db.developers import find_developer
from db.enums import Role
from db.models import ApiToken, Developer
from db.tokens import create_token, revoke_token
from errlog.cli.common import database_session, echo_json, echo_table, format_time, json_option
from errlog.settings import load_settings


@click.group("token")
def command() -> None:
    """API tokens for the REST API and the terminal UI."""


@command.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the token may do.")
@click.option("--developer", "developer_ref", metavar="EMAIL", help="The developer the token acts as ('assigned:me').")
@json_option
def create(name: str, role: str, developer_ref: str | None, as_json: bool) -> None:
    """Issue token NAME and print its secret (shown only this once; errlog keeps only a hash)."""
    with database_session(load_settings()) as session:
        developer_id = find_developer(session, developer_ref).id if developer_ref else None
        new = create_token(session, name, Role(role), developer_id=developer_id)
        audit.record(
            session,
            actor="cli",
            action="token.create",
            target_type="api_token",
            target_id=new.token.id,
            after={"name": new.token.name, "role": role, "prefix": new.token.prefix, "developer_id": developer_id},
        )
    if as_json:
        echo_json({"id": new.token.id, "name": new.token.name, "role": role, "token": new.secret})
        return
    click.echo(f"created {role} token {new.token.name} (id {new.token.id}):")
    click.echo(f"  {new.secret}")
    click.echo("it is shown only this once: store it now (send it as `Authorization: Bearer <token>`)")


@command.command("list")
@json_option
def list_tokens(as_json: bool) -> None:
    """List tokens: prefix, role, developer, last use and revocation. Secrets are never shown."""
    with database_session(load_settings()) as session:
        rows: list[dict[str, Any]] = [
            {
                "id": token.id,
                "name": token.name,
                "prefix": token.prefix,
                "role": token.role.value,
                "developer": email,
                "created_at": token.created_at,
                "last_used_at": token.last_used_at,
                "revoked_at": token.revoked_at,
            }
            for token, email in session.execute(
                select(ApiToken, Developer.email)
                .outerjoin(Developer, Developer.id == ApiToken.developer_id)
                .order_by(ApiToken.name)
            )
        ]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no tokens yet: create one with `errlog token create NAME --role viewer`")
    else:
        echo_table(
            ("ID", "NAME", "PREFIX", "ROLE", "DEVELOPER", "CREATED", "LAST USED", "REVOKED"),
            [
                (
                    row["id"],
                    row["name"],
                    f"{row['prefix']}...",
                    row["role"],
                    row["developer"],
                    format_time(row["created_at"]),
                    format_time(row["last_used_at"]),
                    format_time(row["revoked_at"]),
                )
                for row in rows
            ],
        )


@command.command("revoke")
@click.argument("name_or_id")
def revoke(name_or_id: str) -> None:
    """Revoke a token by name or id; it stops working at once."""
    with database_session(load_settings()) as session:
        token = revoke_token(session, name_or_id)
        # revoke_token leaves an already revoked token alone; only a real change is audited.
        newly_revoked = inspect(token).attrs.revoked_at.history.has_changes()
        if newly_revoked:
            audit.record(
                session,
                actor="cli",
                action="token.revoke",
                target_type="api_token",
                target_id=token.id,
                before={"revoked_at": None},
                after={"revoked_at": token.revoked_at},
            )
    if newly_revoked:
        click.echo(f"revoked token {token.name} (id {token.id})")
    else:
        click.echo(f"token {token.name} (id {token.id}) was already revoked at {format_time(token.revoked_at)}")
