"""Time buckets: their alignment, filling, and the SQL each backend gets."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import CompileError

from collector.api.histograms import DAY, HOUR, Buckets, bucket_of
from db.models import Event

NOW = dt.datetime(2026, 11, 28, 19, 42, 10, tzinfo=dt.UTC)


def test_buckets_end_with_the_one_holding_now():
    buckets = Buckets.ending_at(NOW, HOUR, 24)
    assert buckets.start == dt.datetime(2026, 11, 27, 20, 0, tzinfo=dt.UTC)
    assert buckets.bucket_start(buckets.first + 23) == dt.datetime(2026, 11, 28, 19, 0, tzinfo=dt.UTC)
    days = Buckets.ending_at(NOW, DAY, 30)
    assert days.start == dt.datetime(2026, 10, 30, tzinfo=dt.UTC)


def test_fill_puts_counts_in_place_and_drops_strays():
    buckets = Buckets(seconds=HOUR, first=100, count=4)
    assert buckets.fill([(100, 2), (103, 5), (99, 7), (104, 1), (101, 1), (101, 2)]) == [2, 3, 0, 5]
    histogram = buckets.histogram([(102, 1)])
    assert (histogram.interval_seconds, histogram.counts) == (HOUR, [0, 0, 1, 0])


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (sqlite.dialect(), "CAST(strftime('%s', events.received_at) AS INTEGER) / 3600"),
        (postgresql.dialect(), "CAST(FLOOR(date_part('epoch', events.received_at)) AS BIGINT) / 3600"),
    ],
)
def test_one_bucket_expression_per_backend(dialect, expected):
    bucket = bucket_of(Event.received_at, HOUR)
    sql = str(select(bucket).group_by(bucket).compile(dialect=dialect))
    assert sql.count(expected) == 2  # the same literal expression in SELECT and GROUP BY


def test_other_backends_are_refused_rather_than_guessed():
    from sqlalchemy.dialects import mysql

    with pytest.raises(CompileError, match="mysql"):
        str(select(bucket_of(Event.received_at, HOUR)).compile(dialect=mysql.dialect()))
