"""PostgreSQL connections give up on a host that stops answering (db.session.POSTGRES_TIMEOUTS), unless the URL
says otherwise."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from db.session import POSTGRES_TIMEOUTS, create_db_engine


def settings_of(url: str) -> dict[str, str]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            dsn = connection.connection.driver_connection.info.dsn
    finally:
        engine.dispose()
    return dict(part.split("=", 1) for part in dsn.split())


@pytest.mark.postgres
def test_connections_carry_the_timeouts_and_the_url_s_own_win(postgres_admin_url: str) -> None:
    found = settings_of(postgres_admin_url)
    assert {name: found.get(name) for name in POSTGRES_TIMEOUTS} == {k: str(v) for k, v in POSTGRES_TIMEOUTS.items()}
    own = make_url(postgres_admin_url).update_query_dict({"connect_timeout": "2", "keepalives_idle": "30"})
    found = settings_of(own.render_as_string(hide_password=False))
    assert (found["connect_timeout"], found["keepalives_idle"], found["tcp_user_timeout"]) == ("2", "30", "10000")


def test_a_server_that_never_answers_the_handshake_is_an_error_after_the_connect_timeout() -> None:
    # A listener whose backlog is full and that never accepts: the TCP connection is made, the server's greeting
    # never comes, as with a hung PostgreSQL.
    with socket.create_server(("127.0.0.1", 0), backlog=0) as silent:
        port = silent.getsockname()[1]
        engine = create_db_engine(f"postgresql+psycopg://errlog@127.0.0.1:{port}/errlog")
        started = time.monotonic()
        with pytest.raises(OperationalError):
            engine.connect()
        engine.dispose()
    # libpq's default would wait for ever.
    assert (
        POSTGRES_TIMEOUTS["connect_timeout"] - 1 < time.monotonic() - started < 2 * POSTGRES_TIMEOUTS["connect_timeout"]
    )
