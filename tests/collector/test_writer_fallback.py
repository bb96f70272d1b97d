"""A batch that fails is stored one event at a time: the bad event is refused, the others stored, and the writer is
not "stuck" for the time those commits take together (new events would get a 503 meanwhile)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from collector import writer as writer_module
from collector.writer import STUCK_AFTER_SECONDS, EventRejected, IngestWriter
from db.models import Event
from db.session import make_session_factory
from tests.collector.factories import prepared_event
from tests.db.factories import make_project

AT = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
COMMIT_SECONDS = 0.35  # each transaction slowed down to this: five of them take longer than STUCK_AFTER_SECONDS


def test_a_batch_stored_one_by_one_is_not_stuck(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        project_id = make_project(session).id
        session.commit()
    real_store = writer_module.store_batch

    def slow_store(*args: Any, **kwargs: Any) -> Any:
        time.sleep(COMMIT_SECONDS)
        return real_store(*args, **kwargs)

    monkeypatch.setattr(writer_module, "store_batch", slow_store)
    items = [prepared_event(project_id, AT, fingerprint=f"site-{n}") for n in range(4)]
    items.insert(2, prepared_event(project_id, AT, severity="catastrophic"))  # the severity column refuses it
    assert COMMIT_SECONDS * (1 + len(items)) > STUCK_AFTER_SECONDS
    writer = IngestWriter(sessions)

    async def run() -> tuple[list[Any], bool]:
        submitted = [asyncio.create_task(writer.submit(item)) for item in items]
        await asyncio.sleep(0)  # all five queued before the writer starts: one batch
        writer.start()
        seen_stuck = False
        while not all(task.done() for task in submitted):
            seen_stuck = seen_stuck or writer.stuck
            await asyncio.sleep(0.02)
        return await asyncio.gather(*submitted, return_exceptions=True), seen_stuck

    try:
        results, seen_stuck = asyncio.run(run())
    finally:
        writer.stop()
    assert writer.batches_committed == len(items) - 1  # the batch failed, then four commits of one event each
    assert [type(r) for r in results].count(EventRejected) == 1 and isinstance(results[2], EventRejected)
    assert all(r.stored for i, r in enumerate(results) if i != 2)
    assert not seen_stuck
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == len(items) - 1
    engine.dispose()
