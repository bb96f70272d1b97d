"""A database that stops answering without closing anything (a partition, a hung host): new events get a 503 at
once instead of queuing behind the stuck batch, and ingestion resumes when the database answers again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from collector.writer import STUCK_AFTER_SECONDS
from db.models import Event
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event
from tests.collector.relay import FreezableProxy


@pytest.fixture
def proxy(database_url: str) -> Iterator[FreezableProxy]:
    url = make_url(database_url)
    relay = FreezableProxy((url.host or "127.0.0.1", url.port or 5432))
    yield relay
    relay.close()


@pytest.fixture
def collector_settings(database_url: str, proxy: FreezableProxy) -> dict[str, Any]:
    proxied = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return {"database_url": proxied.render_as_string(hide_password=False)}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_database_that_stops_answering_gets_503s_at_once_and_ingestion_resumes(collector, proxy):
    project_id, dsn, _ = collector.create_project()
    headers = auth_header(key_of(dsn))

    def send(event: dict[str, Any]) -> tuple[int, float]:
        started = time.monotonic()
        with collector.client() as client:
            response = client.post(f"/api/{project_id}/envelope/", content=make_envelope(event), headers=headers)
        return response.status_code, time.monotonic() - started

    assert send(make_event())[0] == 200
    proxy.moving.clear()
    held, held_answer = make_event(), []
    waiting = threading.Thread(target=lambda: held_answer.append(send(held)))
    waiting.start()
    time.sleep(STUCK_AFTER_SECONDS + 0.5)  # the writer has been stuck on `held`'s batch for longer than allowed
    refused = make_event()
    status, took = send(refused)
    assert status == 503 and took < 1.0, (status, took)
    proxy.moving.set()
    waiting.join(15)
    assert held_answer and held_answer[0][0] == 200  # its batch went through once the database answered
    after = make_event()
    assert send(after)[0] == 200
    with collector.session() as session:
        stored = set(session.scalars(select(Event.event_id)))
    assert {held["event_id"], after["event_id"]} <= stored
    assert refused["event_id"] not in stored
