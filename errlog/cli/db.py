"""`errlog db`: bring the database schema up to date and show its revision."""

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
    """The database schema (migrations)."""


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
