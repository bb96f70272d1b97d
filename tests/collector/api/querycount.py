"""Counting the SQL statements the live collector runs for a request, to catch N+1 queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def count_queries(api: Any) -> Iterator[list[str]]:
    """The statements the collector's engine runs inside the block (the test is its only client)."""
    engine = api.collector.server.config.app.state.engine
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # A token's last-use time is written at most once a minute: noise for a count of what a request needs.
        if not statement.startswith("UPDATE api_tokens"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
