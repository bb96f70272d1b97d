"""The issues with the most events in a window, from the roll-ups, exactly as counting raw events would rank them.

Summing every issue's counts over a month reads one row per issue and hour or day it had events: hundreds of
thousands once many issues are quiet but alive. The top few are found instead with Fagin's threshold algorithm: the
window is split into lists (an hour's or a day's counts each, and the raw events before the first whole hour), the
M biggest counts of each list are read from its (bucket, events) index, and the exact window totals of their issues
summed. An issue in none of those reads counts at most the M-th biggest of each list: if the last issue kept beats
that sum, no other issue can be in the top. Otherwise M grows, and past MAX_DEPTH one grouped query sums everything.
Exact whatever the data; one round when a few issues carry most events, as they do.

The statements are built once per shape of window (numbers of hourly and daily lists) with the bucket times as bound
parameters: building a statement of some fifty subqueries costs more than running it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, bindparam, cast, func, literal, select, true, union_all
from sqlalchemy.orm import Session

from db.models import Event, IssueDailyCount, IssueHourlyCount
from db.rollups import DAY, HOUR, day_of, hour_of

# 16 settles a top ten in one round over every window of the benchmark's Zipf data (bench/README.md, "REST API"),
# in a third of the time 64 took (7 days: 20 -> 6.5 ms), as each issue read costs its exact total over the window.
FIRST_DEPTH = 16
MAX_DEPTH = 1024

_HOURLY = IssueHourlyCount.__table__.c
_DAILY = IssueDailyCount.__table__.c


@dataclass(frozen=True)
class Window:
    """[start, now] cut into: raw events before the first whole hour, whole hours to the first midnight, days."""

    start: dt.datetime
    raw_until: dt.datetime
    hours: list[dt.datetime]
    days: list[dt.datetime]

    @classmethod
    def of(cls, start: dt.datetime, now: dt.datetime) -> Window:
        first_hour = hour_of(start) if hour_of(start) == start else hour_of(start) + HOUR
        first_day = day_of(first_hour) if day_of(first_hour) == first_hour else day_of(first_hour) + DAY
        hours, hour = [], first_hour
        while hour < first_day and hour <= now:
            hours.append(hour)
            hour += HOUR
        days, day = [], first_day
        while day <= now:
            days.append(day)
            day += DAY
        return cls(start=start, raw_until=first_hour, hours=hours, days=days)

    @property
    def raw(self) -> bool:
        return self.raw_until > self.start

    @property
    def shape(self) -> tuple[int, int, bool]:
        return len(self.hours), len(self.days), self.raw

    def parameters(self) -> dict[str, dt.datetime]:
        hours = {f"h{i}": hour for i, hour in enumerate(self.hours)}
        days = {f"d{i}": day for i, day in enumerate(self.days)}
        return hours | days | {"start": self.start, "raw_until": self.raw_until}


def top_issues(session: Session, start: dt.datetime, now: dt.datetime, limit: int) -> list[tuple[int, int]]:
    """The `limit` issues with the most events received from `start` on, as (issue id, events), most first and the
    higher id first among equals."""
    window = Window.of(start, now)
    if window.shape == (0, 0, False):
        return []
    parameters = window.parameters()
    depth = FIRST_DEPTH
    while depth <= MAX_DEPTH:
        lists = [(0, 0)] * (len(window.hours) + len(window.days) + window.raw)
        ranked = []
        for number, first, second in session.execute(_round(*window.shape, depth, limit), parameters):
            if number < 0:
                ranked.append((int(first), int(second)))
            else:
                lists[int(number)] = (int(first), int(second))  # rows read, the smallest count among them
        ranked.sort(key=lambda item: (-item[1], -item[0]))
        # The most an issue outside every list's top can have: the depth-th count of each list still going on.
        bound = sum(smallest for read, smallest in lists if read == depth)
        if all(read < depth for read, _ in lists) or (len(ranked) == limit and ranked[-1][1] > bound):
            return ranked
        depth *= 4
    summed = session.execute(_grouped(*window.shape, limit), parameters)
    return [(int(issue_id), int(events)) for issue_id, events in summed]


def _raw_counts() -> Any:
    return (
        select(Event.issue_id, func.count().label("events"))
        .where(Event.received_at >= bindparam("start"), Event.received_at < bindparam("raw_until"))
        .group_by(Event.issue_id)
        .cte("raw")
    )


def _sources(hours: int, days: int, raw: bool, raw_counts: Any = None) -> list[tuple[Any, Any, Any]]:
    """(issue id, events, condition) of each list."""
    sources: list[tuple[Any, Any, Any]] = [
        (_HOURLY.issue_id, _HOURLY.events, _HOURLY.hour == bindparam(f"h{i}")) for i in range(hours)
    ]
    sources += [(_DAILY.issue_id, _DAILY.events, _DAILY.day == bindparam(f"d{i}")) for i in range(days)]
    if raw:
        sources.append((raw_counts.c.issue_id, raw_counts.c.events, true()))
    return sources


def _parts(hours: int, days: int, raw_counts: Any) -> list[Any]:
    """(issue id, events) rows that sum to each issue's events in the window."""
    parts = []
    if hours:
        parts.append(
            select(_HOURLY.issue_id, _HOURLY.events).where(
                _HOURLY.hour >= bindparam("h0"), _HOURLY.hour <= bindparam(f"h{hours - 1}")
            )
        )
    if days:
        parts.append(select(_DAILY.issue_id, _DAILY.events).where(_DAILY.day >= bindparam("d0")))
    if raw_counts is not None:
        parts.append(select(raw_counts.c.issue_id, raw_counts.c.events))
    return parts


@lru_cache(maxsize=256)
def _round(hours: int, days: int, raw: bool, depth: int, limit: int) -> Any:
    """Per list, how many rows its top `depth` read and the smallest count among them (list number >= 0); then
    the `limit` issues with the most events in the window among those read (list number -1)."""
    raw_counts = _raw_counts() if raw else None
    list_tops = []
    for number, (issue_id, events, condition) in enumerate(_sources(hours, days, raw, raw_counts)):
        top = select(issue_id, events).where(condition).order_by(events.desc(), issue_id.desc()).limit(depth)
        top_rows = top.subquery()
        list_tops.append(select(literal(number).label("list"), *top_rows.c))
    tops = union_all(*list_tops).cte("tops")
    per_list = select(tops.c.list, func.count(), func.min(tops.c.events)).group_by(tops.c.list)
    read = select(tops.c.issue_id)
    windowed = (part.where(part.selected_columns[0].in_(read)) for part in _parts(hours, days, raw_counts))
    rows = union_all(*windowed).subquery()
    total = cast(func.sum(rows.c.events), BigInteger)
    best = (
        select(rows.c.issue_id, total.label("total"))
        .group_by(rows.c.issue_id)
        .order_by(total.desc(), rows.c.issue_id.desc())
        .limit(limit)
        .subquery()
    )
    return union_all(per_list, select(literal(-1), *best.c))


@lru_cache(maxsize=64)
def _grouped(hours: int, days: int, raw: bool, limit: int) -> Any:
    """Every issue of the window summed: for flat distributions, where the lists' tops prove little."""
    rows = union_all(*_parts(hours, days, _raw_counts() if raw else None)).subquery()
    total = cast(func.sum(rows.c.events), BigInteger)
    return (
        select(rows.c.issue_id, total)
        .group_by(rows.c.issue_id)
        .order_by(total.desc(), rows.c.issue_id.desc())
        .limit(limit)
    )
