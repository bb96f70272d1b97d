"""How the writer fills a batch: it waits for the events its event loop is still preparing, but never longer than
its batch_wait, and never for a loop that has nothing more to give."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from collector.pipeline import PreparedEvent
from collector.writer import IngestWriter
from db.models import Event
from db.session import make_session_factory
from tests.collector.conftest import LiveCollector
from tests.collector.factories import prepared_event
from tests.db.factories import make_project

AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
PREPARING_SECONDS = 0.2  # a request being prepared, the loop busy meanwhile


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _events(sessions: sessionmaker[Session], count: int) -> list[PreparedEvent]:
    with sessions() as session:
        project_id = make_project(session).id
        session.commit()
    return [prepared_event(project_id, AT, fingerprint=f"site-{n}") for n in range(count)]


def _stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def test_events_the_loop_is_still_preparing_join_the_batch(sessions: sessionmaker[Session]) -> None:
    first, *later = _events(sessions, 3)
    # A wait far longer than the test may take: only "a round brought nothing" can end it in time.
    writer = IngestWriter(sessions, batch_wait=60.0)
    writer.start()

    async def prepared_then_submitted(item: PreparedEvent) -> object:
        time.sleep(PREPARING_SECONDS)  # the loop's own work: the writer has taken `first` by now
        return await writer.submit(item)

    async def run() -> list[object]:
        async with asyncio.timeout(30):
            return await asyncio.gather(writer.submit(first), *(prepared_then_submitted(item) for item in later))

    try:
        outcomes = asyncio.run(run())
    finally:
        writer.stop()
    assert len(outcomes) == 3
    assert writer.batches_committed == 1  # the two prepared meanwhile went with the first
    assert _stored(sessions) == 3


@pytest.mark.parametrize("batch_wait", [0.0, 0.05])
def test_a_batch_does_not_wait_past_batch_wait_for_a_busy_loop(
    sessions: sessionmaker[Session], batch_wait: float
) -> None:
    first, second = _events(sessions, 2)
    writer = IngestWriter(sessions, batch_wait=batch_wait)
    writer.start()
    committed_while_busy: list[bool] = []

    async def busy_until_committed() -> object:
        # Holds the loop (as a long preparation would) until the first event is committed: the writer must commit
        # without the loop's answer once batch_wait has passed.
        until = time.monotonic() + 20
        while writer.batches_committed == 0 and time.monotonic() < until:
            time.sleep(0.01)
        committed_while_busy.append(writer.batches_committed == 1)
        return await writer.submit(second)

    async def run() -> list[object]:
        return await asyncio.gather(writer.submit(first), busy_until_committed())

    try:
        asyncio.run(run())
    finally:
        writer.stop()
    assert committed_while_busy == [True]
    assert writer.batches_committed == 2
    assert _stored(sessions) == 2


def test_an_idle_loop_ends_the_wait_at_once(sessions: sessionmaker[Session]) -> None:
    (only,) = _events(sessions, 1)
    writer = IngestWriter(sessions, batch_wait=60.0)
    writer.start()

    async def run() -> object:
        async with asyncio.timeout(30):  # far less than batch_wait: the loop had nothing more, so no wait
            return await writer.submit(only)

    try:
        outcome = asyncio.run(run())
    finally:
        writer.stop()
    assert getattr(outcome, "stored", False)
    assert writer.batches_committed == 1


@pytest.fixture
def batch_wait_25_ms(collector_settings: dict[str, object]) -> None:
    collector_settings["ingest_batch_wait_ms"] = 25


def test_the_collector_waits_as_long_as_its_setting_says(batch_wait_25_ms: None, collector: LiveCollector) -> None:
    writer: IngestWriter = collector.server.config.app.state.ingest.writer
    assert writer.batch_wait == 0.025
