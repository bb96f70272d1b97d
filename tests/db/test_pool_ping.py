"""Pooled PostgreSQL connections are tested before use only when they may have gone (db.session.PING_IDLE_SECONDS):
a connection the server closed is replaced without an error, one just used goes out without a round trip."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from db import session as db_session
from db.session import create_db_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_admin_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_admin_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        seen.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return seen


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_in_use_just_now_is_not_pinged(engine: Engine, pings: list[Any]) -> None:
    first = backend_pid(engine)
    assert [backend_pid(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_a_connection_idle_for_long_is_pinged(
    engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend_pid(engine)
    monkeypatch.setattr(db_session, "PING_IDLE_SECONDS", 0.0)
    assert backend_pid(engine) == first
    assert len(pings) == 1


def test_a_connection_the_server_closed_is_replaced_on_checkout(
    engine: Engine, pings: list[Any], postgres_admin_url: str
) -> None:
    doomed = backend_pid(engine)
    admin = create_db_engine(postgres_admin_url)
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": doomed}).scalar_one()
    finally:
        admin.dispose()
    time.sleep(0.2)  # the server's goodbye reaching the pooled connection's socket
    # Without a ping this would fail with "server closed the connection unexpectedly".
    replacement = backend_pid(engine)
    assert replacement != doomed
    assert len(pings) == 1
