"""Engines and sessions: one engine per database URL, tuned per backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
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


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`. SQLite files get their folder created and WAL mode; PostgreSQL a pre-ping pool."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 10})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        # The URL's own settings (?connect_timeout=...) win over these.
        kwargs.setdefault("connect_args", {k: v for k, v in POSTGRES_TIMEOUTS.items() if k not in parsed.query})
    kwargs.setdefault("json_serializer", json_serializer)
    try:
        engine = create_engine(parsed, **kwargs)
    except Exception as exc:  # e.g. the driver module is not installed
        raise DatabaseError(f"cannot open database {parsed.render_as_string(hide_password=True)}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
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
