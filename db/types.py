"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids fall back to Integer there.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")

# JSON kept as the text it came as (`json` on PostgreSQL, checked but not parsed into jsonb's tree): for documents
# written often and only ever read whole, never queried inside (event payloads). Building jsonb was over half of
# PostgreSQL's CPU per stored event (migration 0007).
JSONWhole = JSON()


class JsonText(str):
    """A JSON document already encoded (an event payload): a JSONDoc or JSONWhole column stores it as it is.

    Engines from `db.session.create_db_engine` know it; the collector encodes each payload once instead of
    handing the database a dict to encode again.
    """


def json_serializer(value: Any) -> str:
    """The engines' JSON encoder: JsonText passes through, anything else is encoded as before.

    A flat object of strings (an event's tags, on every stored event) goes through orjson, which encodes it as
    the standard library does, as JSON, in a fifth of the time; anything else stays with the standard library,
    where orjson could differ (NaN, integers past 64 bits)."""
    if type(value) is JsonText:
        return value
    if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError:  # a lone surrogate: the standard library writes it escaped
            pass
    return json.dumps(value)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where an aware one is required")
        value = value.astimezone(dt.UTC)
        # SQLite has no time zones: store naive UTC so text comparisons order correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
