"""PostgreSQL inserts of many rows by one statement of fixed text: the rows go as one array per column."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, TextClause, text
from sqlalchemy.dialects import postgresql

from db.types import json_serializer

_LENGTH = re.compile(r"VARCHAR\(\d+\)")


@lru_cache(maxsize=16)
def unnest_insert(table: Any, columns: tuple[str, ...], tail: str) -> TextClause:
    """`INSERT INTO table (columns) SELECT * FROM ROWS FROM (unnest(array), ...) <tail>` for `unnest_params`.

    A multi-row VALUES insert has new text for every number of rows and, past 4,096 characters or 50
    parameters, psycopg parses its placeholders again on every call (5 % of the collector's CPU); this text
    never changes, so psycopg converts it once and PostgreSQL prepares it once. The models' Python-side
    defaults do not apply here: rows give every column named.
    """
    dialect = postgresql.dialect()
    arrays = []
    for i, name in enumerate(columns):
        if isinstance(table.c[name].type, JSON):
            # One JSON array of the documents: psycopg would escape every quote of them in a text[] literal.
            arrays.append(f"jsonb_array_elements(CAST(:c{i} AS JSONB))")
            continue
        # Arrays of the bare type: a cast to VARCHAR(n)[] would cut long values silently, where the insert
        # into the column refuses them as a VALUES insert does.
        sql_type = _LENGTH.sub("TEXT", table.c[name].type.compile(dialect=dialect))
        arrays.append(f"unnest(CAST(:c{i} AS {sql_type}[]))")
    names = ", ".join(columns)
    return text(
        f"INSERT INTO {table.name} ({names}) SELECT * FROM ROWS FROM ({', '.join(arrays)}) AS batch({names}) {tail}"
    )


def unnest_params(table: Any, columns: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The bound arrays of `unnest_insert(table, columns, ...)` for `rows`. A JSON column's values go as one JSON
    array of them, None as JSON null as SQLAlchemy's JSON type writes it."""
    params: dict[str, Any] = {}
    for i, name in enumerate(columns):
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, JSON):
            params[f"c{i}"] = "[" + ",".join(json_serializer(value) for value in values) + "]"
        else:
            params[f"c{i}"] = values
    return params
