"""Independent reads of one request at once on their own connections (PostgreSQL), one after another on SQLite or
when the process's allowance of side connections is spent."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from collector.api import side_reads
from collector.api.side_reads import read_at_once
from db.models import Project
from tests.db.factories import make_project


def _backend(session: Session) -> object:
    """Which connection a session reads on: the server's process id, or SQLite's connection object."""
    if session.get_bind().dialect.name == "sqlite":
        return id(session.connection().connection.dbapi_connection)
    return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_results_come_in_the_order_of_the_reads(db_session):
    make_project(db_session, "payments")
    db_session.commit()
    results = read_at_once(
        db_session,
        [
            lambda s: s.scalars(select(Project.name)).all(),
            lambda s: 2,
            lambda s: s.scalar(select(Project.id).where(Project.name == "payments")) is not None,
        ],
    )
    assert results == [["payments"], 2, True]


def test_postgresql_reads_on_separate_connections_at_once_and_sqlite_on_the_request_session(db_session):
    # Each side read waits for the others: they can only all finish if they run at the same time.
    barrier = threading.Barrier(3, timeout=10)
    postgres = db_session.get_bind().dialect.name == "postgresql"

    def meet(session: Session) -> object:
        if postgres:
            barrier.wait()
        return _backend(session)

    mine = _backend(db_session)
    first, *others = read_at_once(db_session, [meet, meet, meet])
    assert first == mine
    if postgres:
        assert len({first, *others}) == 3
    else:
        assert others == [mine, mine]


def _whole(allowance: threading.BoundedSemaphore, permits: int) -> bool:
    taken = 0
    while taken < permits and allowance.acquire(blocking=False):
        taken += 1
    return taken == permits and not allowance.acquire(blocking=False)


def test_past_the_allowance_reads_run_on_the_request_session(db_session, monkeypatch):
    allowance = threading.BoundedSemaphore(1)
    monkeypatch.setattr(side_reads, "_allowance", allowance)
    mine = _backend(db_session)
    backends = read_at_once(db_session, [_backend, _backend, _backend])
    assert backends[0] == backends[2] == mine
    assert (backends[1] == mine) == (db_session.get_bind().dialect.name == "sqlite")
    assert _whole(allowance, 1)  # the side connection was given back


@pytest.mark.parametrize("failing", [0, 1])
def test_a_failed_read_fails_the_call_after_every_side_read_ended(db_session, monkeypatch, failing):
    allowance = threading.BoundedSemaphore(2)
    monkeypatch.setattr(side_reads, "_allowance", allowance)
    ended = threading.Event()

    def slow(session: Session) -> None:
        ended.wait(0.2)
        ended.set()

    def broken(session: Session) -> None:
        raise LookupError("no such thing")

    reads = [slow, slow]
    reads[failing] = broken
    with pytest.raises(LookupError):
        read_at_once(db_session, reads)
    # On SQLite the reads run in turn, so a failing first one leaves the second unread.
    assert ended.is_set() == (failing == 1 or db_session.get_bind().dialect.name != "sqlite")
    assert _whole(allowance, 2)
