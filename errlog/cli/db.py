"""`errlog db`: bring the database schema up to date, show its revision, prune old data."""

from __future__ import annotations

import click
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from db import migrate
from db.session import DatabaseError, create_db_engine
from errlog.settings import load_settings


@click.group("db")
def command() -> None:
    """The database: schema (migrations) and retention."""


def _display_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@command.command("upgrade")
def upgrade() -> None:
    """Migrate the configured database to the schema this errlog needs."""
    engine = create_db_engine(load_settings().effective_database_url)
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    except (SQLAlchemyError, CommandError) as exc:
        raise DatabaseError(f"cannot upgrade database {_display_url(engine)}: {exc}") from None
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{_display_url(engine)} is already at revision {after} (head)")
    else:
        click.echo(f"upgraded {_display_url(engine)} from revision {before or 'none'} to {after} (head)")


@command.command("current")
def current() -> None:
    """Show the database's schema revision and whether it needs `errlog db upgrade`."""
    engine = create_db_engine(load_settings().effective_database_url)
    try:
        revision = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot use database {_display_url(engine)}: {exc}") from None
    finally:
        engine.dispose()
    head = migrate.head_revision()
    state = "up to date" if revision == head else "needs `errlog db upgrade`"
    click.echo(f"database  {_display_url(engine)}")
    click.echo(f"revision  {revision or 'none'}")
    click.echo(f"head      {head}")
    click.echo(f"status    {state}")


@command.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def prune(dry_run: bool) -> None:
    """Delete events older than ERRLOG_RETENTION_DAYS (errors keep their counts), hourly roll-ups older than 35
    days, per-minute counts older than 2 days and finished notifications older than the retention period, in small
    batches. The worker does this
    every night; run it by hand after lowering the retention, or to see what it would delete."""
    from db.retention import MINUTE_ROLLUP_DAYS
    from db.retention import prune as prune_database
    from db.types import utcnow
    from errlog.cli.common import database_session

    settings = load_settings()
    with database_session(settings) as session:
        report = prune_database(session, utcnow(), settings.retention_days, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    events_before, rollups_before = (f"{t:%Y-%m-%d %H:%M} UTC" for t in (report.events_before, report.rollups_before))
    click.echo(f"{verb} {report.events} event(s) received before {events_before}")
    click.echo(f"{verb} {report.hourly_rollups} hourly roll-up row(s) before {rollups_before}")
    click.echo(f"{verb} {report.minute_rollups} per-minute count row(s) older than {MINUTE_ROLLUP_DAYS} days")
    click.echo(f"{verb} {report.notifications} finished notification(s) created before {events_before}")
