"""PostgreSQL statements over many rows with text that never changes: the rows go as one JSON document, read by
`json_to_recordset`, and the JSON columns' documents beside it as binary arrays.

A multi-row VALUES statement has new text for every number of rows (psycopg parses its placeholders again past
4,096 characters, PostgreSQL plans it anew); this text never changes, so psycopg converts it once and PostgreSQL
prepares it once. The rows were one binary array per column before: psycopg looks through every list in Python to
pick its element type and builds a dumper for it, a fixed cost per array that made up a third of a one-event
batch's CPU in the collector's writer (~55 arrays a batch). One document per statement, written by orjson in C,
leaves one or three parameters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, CursorResult
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from db.types import json_serializer

_LENGTH = re.compile(r"VARCHAR\(\d+\)")
_DIALECT = postgresql.dialect()


def _sql_type(column: Any) -> str:
    # The bare type: read as VARCHAR(n), a long value would be refused by json_to_recordset with a message naming no
    # column, or cut by a cast; written into the column it is refused as a VALUES insert refuses it.
    return _LENGTH.sub("TEXT", column.type.compile(dialect=_DIALECT))


def _in_document(column: Any) -> bool:
    # JSON columns go beside the document as arrays of their encoded text: an event's 8 KiB payload inside it would
    # be parsed again by json_to_recordset, and None stays JSON null there, as SQLAlchemy's JSON type writes it.
    return not isinstance(column.type, JSON)


def rows_from(columns: Sequence[Any], alias: str = "batch") -> str:
    """`ROWS FROM (json_to_recordset(%(alias)s) AS (name type, ...), unnest(%(json_column)b), ...) AS alias(...)`:
    the FROM item giving `columns` (table columns) of the rows that `rows_params(columns, rows, alias)` binds."""
    in_document = [c for c in columns if _in_document(c)]
    arrays = [c for c in columns if not _in_document(c)]
    definitions = ", ".join(f"{c.name} {_sql_type(c)}" for c in in_document)
    parts = [f"json_to_recordset(CAST(%({alias})s AS json)) AS ({definitions})"]
    parts += [f"unnest(CAST(%({c.name})b AS {_sql_type(c)}[]))" for c in arrays]
    names = ", ".join(c.name for c in (*in_document, *arrays))
    return f"ROWS FROM ({', '.join(parts)}) AS {alias}({names})"


def rows_params(columns: Sequence[Any], rows: Sequence[Mapping[str, Any]], alias: str = "batch") -> dict[str, Any]:
    """The parameters of `rows_from(columns, alias)` for `rows` (mappings with every column's name): the document,
    and for a JSON column its values encoded, None as JSON null. A naive datetime is refused (ValueError)."""
    names = [c.name for c in columns if _in_document(c)]
    document = [{name: row[name] for name in names} for row in rows]
    try:
        encoded = orjson.dumps(document, default=_aware_time, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:  # orjson's own message hides the reason _aware_time gave
        raise (exc.__cause__ or exc) from None
    params: dict[str, Any] = {alias: encoded.decode()}
    for column in columns:
        if not _in_document(column):
            params[column.name] = [json_serializer(row[column.name]) for row in rows]
    return params


_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _aware_time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            # As text it would be read in the session's time zone: the wrong instant, silently.
            raise ValueError(f"naive datetime {value.isoformat()} for a timestamp with time zone")
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written to a row")


@lru_cache(maxsize=16)
def insert_rows(table: Any, columns: tuple[str, ...], tail: str) -> str:
    """`INSERT INTO table (columns) SELECT columns FROM (the rows) <tail>`, for `execute` with
    `rows_params(table_columns(table, columns), rows)`. The models' Python-side defaults do not apply: rows give
    every column named."""
    names = ", ".join(columns)
    return f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {rows_from(table_columns(table, columns))} {tail}"


@lru_cache(maxsize=16)
def update_rows(table: Any, key: str, columns: tuple[str, ...]) -> str:
    """`UPDATE table SET column = batch.column, ... FROM (the rows) WHERE table.key = batch.key`: new values for many
    rows in one statement, for `execute` with `update_params(table, key, columns, rows)`."""
    assignments = ", ".join(f"{name} = batch.{name}" for name in columns)
    source = rows_from(table_columns(table, (key, *columns)))
    key_type = _sql_type(table.c[key])
    # The keys again as an array: PostgreSQL takes any function's rows for 100, so with the document alone it joins
    # by reading the whole table (a hash join) until the table is large enough for 100 index lookups to cost less.
    return (
        f"UPDATE {table.name} SET {assignments} FROM {source} WHERE {table.name}.{key} = batch.{key} "
        f"AND {table.name}.{key} = ANY(CAST(%(keys)b AS {key_type}[]))"
    )


def update_params(table: Any, key: str, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of `update_rows(table, key, columns)` for `rows` (mappings with the key and every column)."""
    return {**rows_params(table_columns(table, (key, *columns)), rows), "keys": [row[key] for row in rows]}


@lru_cache(maxsize=32)
def table_columns(table: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(table.c[name] for name in names)


def execute(session: Session, statement: str, params: dict[str, Any]) -> CursorResult[Any]:
    """Run a statement of this module on the session's connection as it is: nothing for SQLAlchemy to compile or
    process, and its errors still SQLAlchemy's (the writer tells an outage from a bad event by them)."""
    return session.connection().exec_driver_sql(statement, params)
