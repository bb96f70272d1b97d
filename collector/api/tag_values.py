"""The tag value distribution of an error, over its newest events, counted in SQL.

Counting in the database sends back one row per (tag, value) instead of a thousand events' tags to decode: on a busy
error that was most of the detail's time. The JSON functions differ (PostgreSQL's jsonb_each_text, SQLite's
json_each); the counts are those of taking each event's tags over its environment, release and level columns."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import bindparam, func, literal, not_, null, select, true, union_all
from sqlalchemy.orm import Session

from db.models import Event

TAG_SAMPLE = 1000  # tag values are counted over this many recent events
TOP_TAG_VALUES = 10
# Columns that Sentry shows among the tags although events store them apart.
COLUMN_TAGS = ("environment", "release", "level")


class TagValue(BaseModel):
    value: str
    count: int
    share: float = Field(description="count / events carrying the tag, 0..1")


class TagDistribution(BaseModel):
    key: str
    total: int = Field(description="Sampled events carrying this tag.")
    values: list[TagValue] = Field(description=f"The {TOP_TAG_VALUES} most frequent values, most frequent first.")


def tag_distribution(session: Session, issue_id: int) -> tuple[list[TagDistribution], int]:
    """(The distribution of tag values over the issue's newest TAG_SAMPLE events, how many events that was)."""
    statement = _statement(session.get_bind().dialect.name == "postgresql", TAG_SAMPLE)
    counters: dict[str, Counter[str]] = {}
    sampled = 0
    for key, value, count in session.execute(statement, {"issue_id": issue_id}):
        if key is None:
            sampled = int(count)
        else:
            counters.setdefault(str(key), Counter())[str(value)] += int(count)
    return _distributions(counters), sampled


@lru_cache(maxsize=4)
def _statement(postgres: bool, sample_size: int) -> Any:
    """(key, value, events) rows, and one (None, None, events sampled) row; built once per backend."""
    sample = (
        select(Event.tags, Event.environment, Event.release, Event.level)
        .where(Event.issue_id == bindparam("issue_id"))
        .order_by(Event.received_at.desc(), Event.id.desc())
        .limit(sample_size)
        .cte("sample")
    )
    if postgres:
        pairs = func.jsonb_each_text(sample.c.tags).table_valued("key", "value")
        is_object = func.jsonb_typeof(sample.c.tags) == "object"
    else:
        pairs = func.json_each(sample.c.tags).table_valued("key", "value")
        is_object = func.json_type(sample.c.tags) == "object"
    parts: list[Any] = [
        select(null().label("key"), null().label("value"), func.count()).select_from(sample),
        select(pairs.c.key, pairs.c.value, func.count())
        .select_from(sample.join(pairs, true()))
        .where(is_object, pairs.c.value.is_not(None))
        .group_by(pairs.c.key, pairs.c.value),
    ]
    for name in COLUMN_TAGS:
        column = sample.c[name]
        tagged = (
            func.coalesce(sample.c.tags.bool_op("?")(name), False)
            if postgres
            else func.json_type(sample.c.tags, f"$.{name}").is_not(None)
        )
        parts.append(
            select(literal(name), column, func.count()).where(column.is_not(None), not_(tagged)).group_by(column)
        )
    return union_all(*parts)


def _distributions(counters: dict[str, Counter[str]]) -> list[TagDistribution]:
    distributions = []
    for key in sorted(counters):
        counter = counters[key]
        total = sum(counter.values())
        top = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:TOP_TAG_VALUES]
        values = [TagValue(value=value, count=count, share=round(count / total, 4)) for value, count in top]
        distributions.append(TagDistribution(key=key, total=total, values=values))
    return distributions
