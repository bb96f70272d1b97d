"""`errlog team`: groups of developers that own projects and share an on-call schedule."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.orm import Session

from db import audit
from db.developers import create_team, list_teams
from db.models import Developer, Team
from errlog.cli.common import database_session, echo_json, echo_table, json_option
from errlog.settings import load_settings


@click.group("team")
def command() -> None:
    """Teams of developers."""


@command.command("create")
@click.argument("name")
@click.option("--member", "members", multiple=True, metavar="EMAIL", help="A member; repeat for each one.")
@click.option("--lead", metavar="EMAIL", help="The team lead (made a member too).")
def create(name: str, members: tuple[str, ...], lead: str | None) -> None:
    """Create team NAME."""
    with database_session(load_settings()) as session:
        team = create_team(session, name, members, lead_ref=lead)
        summary = _summary(session, team)
        audit.record(
            session,
            actor="cli",
            action="team.create",
            target_type="team",
            target_id=team.id,
            after={"name": team.name, "lead": summary["lead"], "members": summary["members"]},
        )
    click.echo(f"created team {team.name} (id {team.id}) with {len(summary['members'])} member(s)")


@command.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List teams with their lead and members."""
    with database_session(load_settings()) as session:
        rows = [_summary(session, team) for team in list_teams(session)]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no teams yet: create one with `errlog team create NAME --member EMAIL`")
    else:
        echo_table(
            ("ID", "NAME", "LEAD", "MEMBERS"),
            [(r["id"], r["name"], r["lead"], ", ".join(r["members"]) or None) for r in rows],
        )


def _summary(session: Session, team: Team) -> dict[str, Any]:
    lead = session.get(Developer, team.lead_developer_id) if team.lead_developer_id else None
    return {
        "id": team.id,
        "name": team.name,
        "lead": lead.email if lead else None,
        "members": sorted(member.developer.email for member in team.members),
    }
