"""Running `errlog` commands in-process against the test database, and reading what they wrote."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEntry
from db.session import create_db_engine
from errlog.cli import main


@pytest.fixture
def cli() -> Callable[[list[str], dict[str, str]], Result]:
    """`cli(args, env)` runs `errlog` in-process; exceptions other than exits propagate (no hidden tracebacks)."""
    runner = CliRunner()

    def run(args: list[str], env: dict[str, str]) -> Result:
        return runner.invoke(main, args, env=env, catch_exceptions=False)

    return run


@pytest.fixture
def errlog(cli: Callable[[list[str], dict[str, str]], Result], database_url: str) -> Callable[..., Result]:
    """`errlog(*args, **env)` runs the command on the test database."""

    def run(*args: str, **env: str) -> Result:
        return cli(list(args), {"ERRLOG_DATABASE_URL": database_url, **env})

    return run


@pytest.fixture
def read(database_url: str) -> Iterator[Callable[[Any], list[Any]]]:
    """`read(select(...))`: the rows now committed, through a fresh session."""
    engine = create_db_engine(database_url)

    def query(statement: Any) -> list[Any]:
        with Session(engine) as session:
            return list(session.scalars(statement))

    yield query
    engine.dispose()


@pytest.fixture
def audit_actions(read: Callable[[Any], list[Any]]) -> Callable[[], list[tuple[str, str, str]]]:
    def actions() -> list[tuple[str, str, str]]:
        entries = read(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.actor, e.action, e.target_type) for e in entries]

    return actions


@pytest.fixture
def one_line_error() -> Callable[..., None]:
    """Asserts an expected failure: exit 1, nothing on stdout, one `errlog: error:` line on stderr naming
    every fragment, no traceback."""

    def check(result: Result, *fragments: str) -> None:
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("errlog: error: ")
        for fragment in fragments:
            assert fragment in lines[0], lines[0]

    return check
