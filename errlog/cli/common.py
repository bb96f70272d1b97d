"""What every errlog command shares: the one-line error, settings, a database session, parsing and output."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from errlog.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """An expected failure: shown as one `errlog: error: <message>` line on stderr, exit code 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"errlog: error: {one_line(self.message)}", err=True)


def one_line(message: str) -> str:
    # Driver errors span several lines and SQLAlchemy appends a "Background on this error" link.
    lines = [line.strip() for line in message.splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("(Background on this error"))


def expected_errors() -> tuple[type[Exception], ...]:
    """The error types that mean "you asked for something that cannot be done", not "errlog has a bug"."""
    # Imported here so `errlog --help` and `errlog config` do not load SQLAlchemy.
    from db.developers import DeveloperError
    from db.heartbeats import HeartbeatError
    from db.oncall import OncallError
    from db.projects import ProjectError
    from db.session import DatabaseError
    from db.tokens import TokenError

    return (SettingsError, DatabaseError, ProjectError, TokenError, DeveloperError, OncallError, HeartbeatError)


@contextmanager
def database_session(config: Settings) -> Iterator[Session]:
    """A committed-on-success session on the configured database. The embedded SQLite default migrates
    itself; any other database must be brought up to date on purpose with `errlog db upgrade`."""
    from db.session import open_database, session_scope

    engine, factory = open_database(config.effective_database_url, auto_upgrade=config.uses_embedded_database)
    try:
        with session_scope(factory) as session:
            yield session
    finally:
        engine.dispose()


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(function)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    from pydantic import BaseModel, SecretStr

    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, SecretStr):
        return "********"  # secrets never leave as text, whatever the output format
    if isinstance(value, BaseModel):
        return value.model_dump()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> None:
    """Columns aligned with two spaces between them; None shows as '-'."""
    cells = [list(headers)] + [["-" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo(indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def echo_fields(pairs: Sequence[tuple[str, Any]]) -> None:
    """Indented `label  value` lines, labels aligned."""
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        click.echo(f"  {label.ljust(width)}  {'-' if value is None else value}")


def format_time(value: dt.datetime | None) -> str:
    return "-" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def parse_date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"invalid {what} {value!r}: expected a date like 2026-12-07") from None


def parse_clock(value: str, what: str) -> dt.time:
    try:
        clock = dt.time.fromisoformat(value)
    except ValueError:
        clock = None
    if clock is None or clock.tzinfo is not None:
        raise CliError(f"invalid {what} {value!r}: expected a local time like 09:00") from None
    return clock


def parse_instant(value: str, what: str) -> dt.datetime:
    """An ISO 8601 date and time; one without an offset is taken as UTC."""
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"invalid {what} {value!r}: expected an ISO 8601 time like 2026-12-24T18:00+01:00 (no offset means UTC)"
        ) from None
    return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant.astimezone(dt.UTC)
