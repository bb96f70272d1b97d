"""Event counts per time bucket, computed in SQL the same way on SQLite and PostgreSQL.

A bucket is whole epoch seconds divided by the bucket length, so minute, hour and day buckets (UTC) need no
date_trunc/strftime per backend beyond the one `epoch_seconds` construct. Events are bucketed by `received_at`:
the server's clock, indexed, and not at the mercy of a client's clock. Buckets of whole hours or days are summed
from the roll-ups (db/models/rollups.py), which count events by the same clock; only shorter ones read events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, ColumnElement, Float, cast, func, literal_column, select, union_all
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from db.models import Event, IssueDailyCount, IssueHourlyCount

MINUTE, HOUR, DAY = 60, 3600, 86400


class epoch_seconds(FunctionElement[int]):  # lower case, like the SQL functions it stands for
    """Whole seconds since 1970-01-01 UTC of a timestamp column."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds)
def _unsupported(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    raise CompileError(f"epoch_seconds is not implemented for {compiler.dialect.name}")


@compiles(epoch_seconds, "sqlite")
def _sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # Timestamps are stored as naive UTC text, which strftime reads as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _postgresql(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # date_part gives a double, several times quicker over many rows than EXTRACT's numeric; whole seconds come out
    # the same, as a double holds today's epoch to the microsecond.
    return f"CAST(FLOOR(date_part('epoch', {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class summed_seconds(FunctionElement[float]):
    """An aggregate: the sum over a group's rows of `later - earlier`, two timestamp columns, in seconds."""

    type = Float()
    name = "summed_seconds"
    inherit_cache = True


@compiles(summed_seconds)
def _summed_unsupported(element: summed_seconds, compiler: Any, **kw: Any) -> str:
    raise CompileError(f"summed_seconds is not implemented for {compiler.dialect.name}")


@compiles(summed_seconds, "sqlite")
def _summed_sqlite(element: summed_seconds, compiler: Any, **kw: Any) -> str:
    later, earlier = element.clauses
    return str(compiler.process(func.sum(epoch_seconds(later) - epoch_seconds(earlier)), **kw))


@compiles(summed_seconds, "postgresql")
def _summed_postgresql(element: summed_seconds, compiler: Any, **kw: Any) -> str:
    # Summing the intervals and converting the total once takes half the time of date_part on every row (28,000
    # resolved errors in 30 days: 3.4 ms against 7.3 ms at best), and keeps the microseconds.
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"date_part('epoch', SUM({later} - {earlier}))"


def bucket_of(column: Any, seconds: int) -> ColumnElement[int]:
    """The bucket number of `column`. Integer division floors, as epoch seconds are positive; the length is a literal
    so that SELECT and GROUP BY are the very same expression (PostgreSQL insists)."""
    return (epoch_seconds(column) // literal_column(str(int(seconds)), BigInteger())).label("bucket")


class Histogram(BaseModel):
    start: dt.datetime = Field(description="Start of the first (oldest) bucket.")
    interval_seconds: int
    counts: list[int] = Field(description="Events per bucket, oldest first; the last bucket is the current one.")


@dataclass(frozen=True)
class Buckets:
    """`count` consecutive buckets of `seconds`, the last one holding `now`."""

    seconds: int
    first: int  # bucket number of the oldest bucket
    count: int

    @classmethod
    def ending_at(cls, now: dt.datetime, seconds: int, count: int) -> Buckets:
        last = int(now.timestamp()) // seconds
        return cls(seconds=seconds, first=last - count + 1, count=count)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.first * self.seconds, dt.UTC)

    def bucket_start(self, number: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(number * self.seconds, dt.UTC)

    def fill(self, counts: Iterable[tuple[int, int]]) -> list[int]:
        """Counts per bucket from (bucket number, count) pairs; empty buckets are 0, strays ignored."""
        series = [0] * self.count
        for number, count in counts:
            index = int(number) - self.first
            if 0 <= index < self.count:
                series[index] += int(count)
        return series

    def histogram(self, counts: Iterable[tuple[int, int]]) -> Histogram:
        return Histogram(start=self.start, interval_seconds=self.seconds, counts=self.fill(counts))


def per_issue(session: Session, issue_ids: Collection[int], buckets: Buckets) -> dict[int, list[int]]:
    """Event counts per bucket for each issue, in one grouped query."""
    grouped = _grouped(session, issue_ids, buckets)
    return {issue_id: buckets.fill(pairs) for issue_id, pairs in grouped.items()}


def hours_and_days(
    session: Session, issue_id: int, now: dt.datetime, *, hours: int, days: int
) -> tuple[Histogram, Histogram]:
    """An issue's hourly events over `hours` and daily events over `days`, in one statement: its rows of the hourly
    and of the daily roll-up (one row per bucket already)."""
    by_hour, by_day = Buckets.ending_at(now, HOUR, hours), Buckets.ending_at(now, DAY, days)
    hourly, daily = IssueHourlyCount, IssueDailyCount
    rows: Sequence[Any] = session.execute(
        union_all(
            select(literal_column("1").label("kind"), bucket_of(hourly.hour, HOUR), hourly.events).where(
                hourly.issue_id == issue_id, hourly.hour >= by_hour.start
            ),
            select(literal_column("2"), bucket_of(daily.day, DAY), daily.events).where(
                daily.issue_id == issue_id, daily.day >= by_day.start
            ),
        )
    ).all()
    return (
        by_hour.histogram((number, n) for kind, number, n in rows if kind == 1),
        by_day.histogram((number, n) for kind, number, n in rows if kind == 2),
    )


def _grouped(session: Session, issue_ids: Collection[int], buckets: Buckets) -> dict[int, list[tuple[int, int]]]:
    """(bucket number, count) pairs per issue since the buckets' start."""
    if not issue_ids:
        return {}
    issue_id, at, count = _source(buckets.seconds)
    bucket = bucket_of(at, buckets.seconds)
    rows = session.execute(
        select(issue_id, bucket, count).where(issue_id.in_(issue_ids), at >= buckets.start).group_by(issue_id, bucket)
    ).all()
    grouped: dict[int, list[tuple[int, int]]] = {issue_id: [] for issue_id in issue_ids}
    for issue, number, n in rows:
        grouped[issue].append((int(number), int(n)))
    return grouped


def _source(seconds: int) -> tuple[Any, Any, Any]:
    """(issue id, time, count) columns to bucket by `seconds`: the daily or hourly roll-up when the buckets are whole
    days or hours (their starts are then whole too, so the roll-up's rows fall in the same buckets as the events),
    the events themselves otherwise."""
    if seconds % DAY == 0:
        return IssueDailyCount.issue_id, IssueDailyCount.day, summed(IssueDailyCount.events)
    if seconds % HOUR == 0:
        return IssueHourlyCount.issue_id, IssueHourlyCount.hour, summed(IssueHourlyCount.events)
    return Event.issue_id, Event.received_at, func.count()


def summed(column: Any) -> ColumnElement[int]:
    """SUM of a count column as a whole number (PostgreSQL sums BIGINT into NUMERIC)."""
    return cast(func.sum(column), BigInteger)
