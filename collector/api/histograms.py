"""Event counts per time bucket, computed in SQL the same way on SQLite and PostgreSQL.

A bucket is whole epoch seconds divided by the bucket length, so minute, hour and day buckets (UTC) need no
date_trunc/strftime per backend beyond the one `epoch_seconds` construct. Events are bucketed by `received_at`:
the server's clock, indexed, and not at the mercy of a client's clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, ColumnElement, func, literal_column, select
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from db.models import Event

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
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


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
    """An issue's hourly events over `hours` and daily events over `days`, from one scan of its events: UTC days are
    whole hours, so the daily counts are sums of hourly ones taken from the first day's midnight."""
    by_hour, by_day = Buckets.ending_at(now, HOUR, hours), Buckets.ending_at(now, DAY, days)
    first_hour = by_day.first * (DAY // HOUR)
    span = Buckets(seconds=HOUR, first=first_hour, count=by_hour.first + hours - first_hour)
    pairs = _grouped(session, [issue_id], span)[issue_id]
    return by_hour.histogram(pairs), by_day.histogram((hour * HOUR // DAY, count) for hour, count in pairs)


def _grouped(session: Session, issue_ids: Collection[int], buckets: Buckets) -> dict[int, list[tuple[int, int]]]:
    """(bucket number, count) pairs per issue since the buckets' start."""
    if not issue_ids:
        return {}
    bucket = bucket_of(Event.received_at, buckets.seconds)
    rows = session.execute(
        select(Event.issue_id, bucket, func.count())
        .where(Event.issue_id.in_(issue_ids), Event.received_at >= buckets.start)
        .group_by(Event.issue_id, bucket)
    ).all()
    grouped: dict[int, list[tuple[int, int]]] = {issue_id: [] for issue_id in issue_ids}
    for issue_id, number, count in rows:
        grouped[issue_id].append((int(number), int(count)))
    return grouped
