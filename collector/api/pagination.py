"""Cursor pagination: opaque cursors over (sort value, id), stable while rows are added."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from collector.api.framework import ApiError

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR_INT = 2**63 - 1  # beyond a 64-bit column, a value cannot come from a real row


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last page.")


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> list[Any]:
    """The values a cursor carries, checked against the expected kinds (datetime, int, float, str)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong shape")
        values: list[Any] = []
        for value, kind in zip(raw, kinds, strict=True):
            if value is None:
                raise ValueError("sort values are never null")
            if kind is dt.datetime:
                values.append(_instant(value))
            elif isinstance(value, bool):
                raise ValueError("booleans are not cursor values")
            elif kind is float and isinstance(value, int | float) and math.isfinite(value):
                values.append(float(value))
            elif (kind is int and isinstance(value, int) and -MAX_CURSOR_INT <= value <= MAX_CURSOR_INT) or (
                kind is str and isinstance(value, str) and "\x00" not in value
            ):
                values.append(value)
            else:
                raise ValueError(f"expected {kind.__name__}")
        return values
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(
            400, "invalid cursor: pass back the next_cursor of a previous page", field="query.cursor"
        ) from None


def _instant(value: Any) -> dt.datetime:
    """An aware time the database can store; a cursor is client input and may be forged."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None or not 1 <= parsed.astimezone(dt.UTC).year <= 9998:
        raise ValueError("not an aware, representable time")
    return parsed


def after(
    columns: Sequence[InstrumentedAttribute[Any] | ColumnElement[Any]], values: Sequence[Any], descending: bool
) -> Any:
    """Rows strictly after `values` in the order (columns..., descending or not): the keyset condition."""
    conditions = []
    for i, column in enumerate(columns):
        equal_before = [c == v for c, v in zip(columns[:i], values[:i], strict=True)]
        beyond = column < values[i] if descending else column > values[i]
        conditions.append(and_(*equal_before, beyond))
    return or_(*conditions)
