"""Input the database can hold: ids within its integer columns, text without NUL or unpaired surrogates.

Checked at the edge, so an odd value gets a 4xx naming it instead of a database error (a 500)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from sqlalchemy.orm import Session

from collector.api.framework import ApiRequest, not_found

# An event id as the schema states it: 32 hex digits, or a UUID with its dashes.
EVENT_ID_PATTERN = "^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
MAX_ID = 2**31 - 1  # INTEGER primary keys
MAX_BIG_ID = 2**63 - 1  # BIGINT primary keys (notifications, patterns, issues)
# Times people schedule: far enough either way, and clear of the year-9999 edge where date arithmetic overflows.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def storable(value: str) -> str:
    """`value` if PostgreSQL and SQLite can store it as text."""
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no unpaired surrogates)") from None
    return value


def not_a_number(value: Any) -> Any:
    """Times are ISO 8601 text, as the schema says; pydantic alone would also read a number as Unix time."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return value
    raise ValueError("expected ISO 8601 text such as 2026-01-05T09:00:00Z (or 2026-01-05 for a day), not a number")


def in_range(value: dt.datetime) -> dt.datetime:
    """`value` in UTC, if between 1970 and 2999."""
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = LATEST
    if not EARLIEST <= utc < LATEST:
        raise ValueError("expected a time between 1970 and 2999")
    return utc


def day_in_range(value: dt.date) -> dt.date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("expected a date between 1970 and 2999")
    return value


Text = Annotated[str, AfterValidator(storable)]
# An offset is required: a time without one is ambiguous (the caller's zone? UTC?), so it is refused.
Instant = Annotated[AwareDatetime, BeforeValidator(not_a_number), AfterValidator(in_range)]
Day = Annotated[dt.date, BeforeValidator(not_a_number), AfterValidator(day_in_range)]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
BigRowId = Annotated[int, Field(ge=1, le=MAX_BIG_ID)]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**kwargs: Any) -> Any:
    """The default of a PATCH field that may be left out (it then reads None) but not sent as null: annotate it
    without None, so the schema shows no null and an explicit null is a 422 naming the field."""
    return Field(None, json_schema_extra=_no_default, **kwargs)


def path_id(req: ApiRequest, name: str, what: str, *, big: bool = False) -> int:
    """The id a path names; one no row can have is simply not found."""
    value = req.path[name]
    if not isinstance(value, int) or not 1 <= value <= (MAX_BIG_ID if big else MAX_ID):
        raise not_found(what, value)
    return value


Row = TypeVar("Row")


def path_row(session: Session, model: type[Row], req: ApiRequest, name: str, what: str) -> Row:
    """The row of `model` whose id the path parameter `name` holds, else 404 ("no <what> with id ...")."""
    row_id = path_id(req, name, what)
    row = session.get(model, row_id)
    if row is None:
        raise not_found(what, row_id)
    return row
