"""A commit that takes longer than the collector waits for: the request gets a 503 to retry, and the retry of the
same event_id is stored once."""

from __future__ import annotations

import fcntl
import os
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from collector import ingest as ingest_service
from db.models import Event
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_commit_slower_than_the_wait_is_a_503_and_its_retry_is_stored_once(collector, database_url, monkeypatch):
    monkeypatch.setattr(ingest_service, "COMMIT_WAIT_SECONDS", 0.5)
    project_id, dsn, _ = collector.create_project()
    event = make_event()
    envelope, headers = make_envelope(event), auth_header(key_of(dsn))
    # The writer's turn on the database (db/write_turn.py) is taken: its commit waits, as behind a slow disk.
    turn = os.open(f"{make_url(database_url).database}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(turn, fcntl.LOCK_EX)
        with collector.client() as client:
            started = time.monotonic()
            slow = client.post(f"/api/{project_id}/envelope/", content=envelope, headers=headers)
            waited = time.monotonic() - started
        assert slow.status_code == 503 and slow.headers["retry-after"]
        assert "storage is slow to answer" in slow.text
        assert 0.5 <= waited < 5
    finally:
        os.close(turn)  # the writer gets its turn and commits the batch it held
    with collector.client() as client:
        retry = client.post(f"/api/{project_id}/envelope/", content=envelope, headers=headers)
    assert retry.status_code == 200 and retry.json() == {"id": event["event_id"]}
    with collector.session() as session:
        stored = select(func.count()).select_from(Event).where(Event.event_id == event["event_id"])
        assert session.scalar(stored) == 1
