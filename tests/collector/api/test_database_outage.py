"""The REST API while its database is gone: a 503 with Retry-After naming the cause (as the ingest endpoints
answer), never a 500, and normal answers again once the database is back, without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.collector.relay import FreezableProxy


@pytest.fixture
def proxy(database_url: str) -> Iterator[list[FreezableProxy]]:
    """The relay in use, in a list: the test closes it (the database gone) and opens another on the same port."""
    url = make_url(database_url)
    relays = [FreezableProxy((url.host or "127.0.0.1", url.port or 5432))]
    yield relays
    relays[-1].close()


@pytest.fixture
def collector_settings(database_url: str, proxy: list[FreezableProxy]) -> dict[str, Any]:
    proxied = make_url(database_url).set(host="127.0.0.1", port=proxy[0].port)
    return {"database_url": proxied.render_as_string(hide_password=False)}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_api_answers_503_while_the_database_is_down_and_recovers(api, admin, proxy):
    assert admin.get("/projects/").status_code == 200
    relay = proxy[0]
    relay.close()  # its connections cut, new ones refused: as a stopped server

    started = time.monotonic()
    for method, path, body in [("GET", "/errors/", None), ("POST", "/projects/", {"name": "orders-api"})]:
        answer = admin.request(method, path, json=body)
        assert answer.status_code == 503, answer.text
        assert answer.json()["detail"] == "the database is unavailable, retry later"
        assert answer.headers["retry-after"] == "5"
    assert time.monotonic() - started < 10

    proxy.append(FreezableProxy(relay.target, port=relay.port))  # the database back where it was
    deadline = time.monotonic() + 15
    while (answer := admin.get("/projects/")).status_code != 200:
        assert answer.status_code == 503 and time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    assert admin.post("/projects/", json={"name": "orders-api"}).status_code == 201
