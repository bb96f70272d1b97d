"""Wall-clock times of day in the API (quiet hours, hand-offs): "HH:MM" in and out."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_clock(value: object) -> dt.time:
    """A 24-hour "HH:MM" string (or a time already) as a naive time."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str) and (match := HH_MM.match(value)):
        return dt.time(int(match[1]), int(match[2]))
    raise ValueError(f"expected a 24-hour time HH:MM such as 09:00, got {value!r}")


def format_clock(value: dt.time) -> str:
    return value.strftime("%H:%M")


ClockTime = Annotated[
    dt.time,
    BeforeValidator(parse_clock),
    PlainSerializer(format_clock, return_type=str),
    WithJsonSchema({"type": "string", "pattern": HH_MM.pattern, "examples": ["09:00"]}),
]
