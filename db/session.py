"""Engines and sessions: one engine per database URL, tuned per backend."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from db import schema_version
from db.types import json_serializer


class DatabaseError(Exception):
    """The database cannot be used as configured (bad URL, missing driver, unreachable)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (API, TUI) run while the collector writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# libpq's defaults wait for ever on a database host that stops answering (a network partition, a host that drops
# packets): a connection attempt for minutes, a query on an open connection until TCP gives up, ~15 minutes later.
# With these a dead peer is an error within ~10-20 s, the collector's writer marks storage unavailable and its probe
# finds the database again when it returns.
POSTGRES_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 5,  # seconds
    "keepalives": 1,
    "keepalives_idle": 10,  # seconds idle before the first probe, then one every interval, `count` unanswered: dead
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms that sent data may stay unacknowledged
}


# A pooled PostgreSQL connection is tested with a round trip before use only when that can find something: when it
# has been idle this long (a firewall may have dropped it silently), or when the server has written to it since its
# last use (a restart or pg_terminate_backend sends a goodbye and closes it). SQLAlchemy's pool_pre_ping tests every
# checkout: a `SELECT 1` round trip before each of the collector's batches (bench/README.md, sixth pass).
PING_IDLE_SECONDS = 10.0


def _mark_used(_dbapi_connection: Any, record: Any) -> None:
    record.info["used_at"] = time.monotonic()


def _has_unread_input(dbapi_connection: Any) -> bool:
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))  # POLLIN, or POLLHUP / POLLERR, which poll reports whatever was asked
    except Exception:  # a closed connection has no socket to look at
        return True


def _ping_when_in_doubt(engine: Engine) -> None:
    dialect = engine.dialect

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used_at = record.info.get("used_at")
        recent = used_at is not None and time.monotonic() - used_at < PING_IDLE_SECONDS
        if recent and not _has_unread_input(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool replaces the connection with a new one and tries again (once), as for its own pre-ping.
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc
        record.info["used_at"] = time.monotonic()

    event.listen(engine, "connect", _mark_used)
    event.listen(engine, "checkin", _mark_used)
    event.listen(engine, "checkout", checkout)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`. SQLite files get their folder created and WAL mode; PostgreSQL a pool that tests a
    connection before use when it may have gone (PING_IDLE_SECONDS)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 10})
    else:
        # The URL's own settings (?connect_timeout=...) win over these.
        kwargs.setdefault("connect_args", {k: v for k, v in POSTGRES_TIMEOUTS.items() if k not in parsed.query})
    kwargs.setdefault("json_serializer", json_serializer)
    try:
        engine = create_engine(parsed, **kwargs)
    except Exception as exc:  # e.g. the driver module is not installed
        raise DatabaseError(f"cannot open database {parsed.render_as_string(hide_password=True)}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif not kwargs.get("pool_pre_ping"):
        _ping_when_in_doubt(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class SchemaOutOfDate(DatabaseError):
    """The database exists but its schema is not at the head migration."""


def open_database(url: str, *, auto_upgrade: bool = False) -> tuple[Engine, sessionmaker[Session]]:
    """Open `url` and check its schema; `auto_upgrade` migrates it (the embedded default does, so a newcomer's
    first command just works). Anything else must be upgraded on purpose with `errlog db upgrade`."""
    engine = create_db_engine(url)
    if schema_version.is_current(engine):
        return engine, make_session_factory(engine)  # the usual case, without importing Alembic
    from db import migrate  # local: alembic is only needed when the schema is not known to be current

    try:
        current = migrate.current_revision(engine)
        if current != migrate.head_revision():
            if not auto_upgrade:
                raise SchemaOutOfDate(
                    f"the database schema is at revision {current or 'none'}, this errlog needs "
                    f"{migrate.head_revision()}: run `errlog db upgrade`"
                )
            migrate.upgrade(engine)
    except DatabaseError:
        engine.dispose()
        raise
    except Exception as exc:  # connection refused, auth failed, unknown database...
        engine.dispose()
        raise DatabaseError(f"cannot use database {engine.url.render_as_string(hide_password=True)}: {exc}") from None
    return engine, make_session_factory(engine)
