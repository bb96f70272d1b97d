"""PostgreSQL statements over many rows with text that never changes: the rows go as one binary array per column."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, CursorResult
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from db.types import json_serializer

_LENGTH = re.compile(r"VARCHAR\(\d+\)")
_DIALECT = postgresql.dialect()


def _array_type(column: Any) -> str:
    if isinstance(column.type, JSON):
        # The documents go as text and are cast to jsonb (or json) one by one: one JSON array of them all would be
        # parsed whole and then copied out element by element.
        return str(column.type.compile(dialect=_DIALECT))
    # Arrays of the bare type: a cast to VARCHAR(n)[] would cut long values silently, where writing them into the
    # column refuses them as a VALUES insert does.
    return _LENGTH.sub("TEXT", column.type.compile(dialect=_DIALECT))


def _arrays(table: Any, columns: tuple[str, ...]) -> str:
    # `%(cN)b`: psycopg sends the arrays in binary, where the text format escapes and quotes every element of
    # every array in Python (1.2 µs per element against 0.2 µs).
    return ", ".join(f"unnest(CAST(%(c{i})b AS {_array_type(table.c[name])}[]))" for i, name in enumerate(columns))


@lru_cache(maxsize=16)
def unnest_insert(table: Any, columns: tuple[str, ...], tail: str) -> str:
    """`INSERT INTO table (columns) SELECT * FROM ROWS FROM (unnest(array), ...) <tail>`, for `execute` with
    `unnest_params`.

    A multi-row VALUES insert has new text for every number of rows and, past 4,096 characters or 50
    parameters, psycopg parses its placeholders again on every call (5 % of the collector's CPU); this text
    never changes, so psycopg converts it once and PostgreSQL prepares it once. The models' Python-side
    defaults do not apply here: rows give every column named.
    """
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table.name} ({names}) SELECT * FROM ROWS FROM ({_arrays(table, columns)}) AS batch({names}) "
        f"{tail}"
    )


@lru_cache(maxsize=16)
def unnest_update(table: Any, key: str, columns: tuple[str, ...]) -> str:
    """`UPDATE table SET column = batch.column, ... FROM (the arrays) WHERE table.key = batch.key`: new values for
    many rows in one statement, for `execute` with `unnest_params(table, (key, *columns), rows)`."""
    names = (key, *columns)
    assignments = ", ".join(f"{name} = batch.{name}" for name in columns)
    return (
        f"UPDATE {table.name} SET {assignments} FROM ROWS FROM ({_arrays(table, names)}) AS batch({', '.join(names)}) "
        f"WHERE {table.name}.{key} = batch.{key}"
    )


def unnest_params(table: Any, columns: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The bound arrays of `unnest_insert(table, columns, ...)` or `unnest_update` for `rows`. A JSON column's
    values go encoded, None as JSON null as SQLAlchemy's JSON type writes it."""
    params: dict[str, Any] = {}
    for i, name in enumerate(columns):
        values = [row[name] for row in rows]
        params[f"c{i}"] = [json_serializer(v) for v in values] if isinstance(table.c[name].type, JSON) else values
    return params


def execute(session: Session, statement: str, params: dict[str, Any]) -> CursorResult[Any]:
    """Run a statement of this module on the session's connection as it is: nothing for SQLAlchemy to compile or
    process, and its errors still SQLAlchemy's (the writer tells an outage from a bad event by them)."""
    return session.connection().exec_driver_sql(statement, params)


def unnest_rows(columns: Sequence[Any], alias: str = "batch") -> str:
    """`ROWS FROM (unnest(%(name)b), ...) AS alias(name, ...)` for these table columns, each bound as one binary
    array named like its column: the FROM item of a statement with more to it than `unnest_insert` writes."""
    arrays = ", ".join(f"unnest(CAST(%({c.name})b AS {_array_type(c)}[]))" for c in columns)
    return f"ROWS FROM ({arrays}) AS {alias}({', '.join(c.name for c in columns)})"
