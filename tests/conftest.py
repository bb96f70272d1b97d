"""Shared fixtures: an isolated environment per test and clean migrated databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from db.base import Base
from db.migrate import upgrade
from db.session import create_db_engine, make_session_factory

POSTGRES_URL = os.environ.get("ERRLOG_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("ERRLOG_TEST_REDIS_URL")
MONGO_URL = os.environ.get("ERRLOG_TEST_MONGO_URL")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the user's config file, data dir or ERRLOG_* variables; each gets its own data dir."""
    for name in list(os.environ):
        if name.startswith("ERRLOG_") and not name.startswith("ERRLOG_TEST_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "errlog-data"
    monkeypatch.setenv("ERRLOG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ERRLOG_CONFIG", str(tmp_path / "no-config.toml"))
    return data_dir


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("ERRLOG_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    return POSTGRES_URL


@contextmanager
def temporary_postgres_database(admin_url: str, prefix: str = "errlog_test") -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block, so test runs never collide."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    with temporary_postgres_database(postgres_admin_url) as url:
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "errlog.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a clean database at the head migration, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "errlog.db"
        shutil.copy(request.getfixturevalue("migrated_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("migrated_postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def db_session(database_url: str) -> Iterator[Session]:
    engine = create_db_engine(database_url)
    session = make_session_factory(engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()
