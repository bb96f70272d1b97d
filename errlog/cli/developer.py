"""`errlog developer`: the people errlog pages, with their contact details and time zone."""

from __future__ import annotations

from typing import Any

import click

from db import audit
from db.developers import add_developer, find_developer, list_developers
from db.models import Developer
from errlog.cli.common import database_session, echo_json, echo_table, json_option
from errlog.settings import load_settings

# The channel_preferences key the daily summary reads (tasks/summary.py); the API accepts it too.
DAILY_SUMMARY = "daily_summary"


@click.group("developer")
def command() -> None:
    """Developers: the people errlog assigns and pages."""


@command.command("add")
@click.option("--name", required=True, help="Full name.")
@click.option("--email", required=True, help="E-mail address (also how other commands refer to them).")
@click.option("--phone", help="Mobile number for SMS in E.164 form, e.g. +4915123456789.")
@click.option("--slack-id", help="Slack member id, e.g. U024BE7LH.")
@click.option("--ntfy-topic", help="ntfy topic their phone subscribes to.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/Berlin.")
def add(name: str, email: str, phone: str | None, slack_id: str | None, ntfy_topic: str | None, timezone: str) -> None:
    """Add a developer."""
    with database_session(load_settings()) as session:
        developer = add_developer(
            session, name=name, email=email, phone=phone, slack_id=slack_id, ntfy_topic=ntfy_topic, timezone=timezone
        )
        audit.record(
            session,
            actor="cli",
            action="developer.create",
            target_type="developer",
            target_id=developer.id,
            after=_snapshot(developer),
        )
    click.echo(f"added developer {developer.name} <{developer.email}> (id {developer.id})")


@command.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List developers."""
    with database_session(load_settings()) as session:
        rows = [{"id": developer.id, **_snapshot(developer)} for developer in list_developers(session)]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no developers yet: add one with `errlog developer add --name NAME --email EMAIL`")
    else:
        echo_table(
            ("ID", "NAME", "EMAIL", "PHONE", "SLACK", "NTFY", "TIMEZONE"),
            [(r["id"], r["name"], r["email"], r["phone"], r["slack_id"], r["ntfy_topic"], r["timezone"]) for r in rows],
        )


def _snapshot(developer: Developer) -> dict[str, Any]:
    fields = ("name", "email", "phone", "slack_id", "ntfy_topic", "timezone")
    return {field: getattr(developer, field) for field in fields}


@command.command("daily-summary")
@click.argument("developer")
@click.option("--on/--off", "subscribe", required=True, help="Subscribe to the daily summary e-mail, or stop it.")
def daily_summary(developer: str, subscribe: bool) -> None:
    """Subscribe DEVELOPER (e-mail or id) to the daily summary e-mail, or unsubscribe them."""
    with database_session(load_settings()) as session:
        found = find_developer(session, developer)
        before = dict(found.channel_preferences or {})
        after = {key: value for key, value in before.items() if key != DAILY_SUMMARY}
        if subscribe:
            after[DAILY_SUMMARY] = ["email"]
        if after != before:
            found.channel_preferences = after or None
            audit.record(
                session,
                actor="cli",
                action="developer.update",
                target_type="developer",
                target_id=found.id,
                before={"channel_preferences": before or None},
                after={"channel_preferences": after or None},
            )
        name, email = found.name, found.email
    state = "gets" if subscribe else "no longer gets"
    click.echo(f"{name} <{email}> {state} the daily summary by e-mail")
