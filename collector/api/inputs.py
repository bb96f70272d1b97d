"""Input the database can hold: ids within its integer columns, text without NUL or unpaired surrogates.

Checked at the edge, so an odd value gets a 4xx naming it instead of a database error (a 500)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from collector.api.framework import ApiRequest, not_found

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
Instant = Annotated[AwareDatetime, AfterValidator(in_range)]
Day = Annotated[dt.date, AfterValidator(day_in_range)]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
BigRowId = Annotated[int, Field(ge=1, le=MAX_BIG_ID)]


def path_id(req: ApiRequest, name: str, what: str, *, big: bool = False) -> int:
    """The id a path names; one no row can have is simply not found."""
    value = req.path[name]
    if not isinstance(value, int) or not 1 <= value <= (MAX_BIG_ID if big else MAX_ID):
        raise not_found(what, value)
    return value
