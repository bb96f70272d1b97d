"""Seeded mutation fuzzing of the ingest endpoints (envelope, store, webhooks) over real HTTP: whatever a client
sends, the answer is a 2xx or a 4xx with a reason, never a 5xx, and every event answered with a 2xx is in the
database.

The mutations swap values at random paths of valid SDK envelopes and webhook payloads for values of other types,
drop keys, and flip, cut or insert bytes of whole bodies. Fixed seeds keep each run the same; the null frames and
exceptions this once found (a 500) are in test_ingest_http.py as a case of their own.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from db.models import Event
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event
from tests.collector.factories import (
    make_frontend_payload,
    make_generic_payload,
    make_java_payload,
    make_laravel_payload,
    make_mobile_payload,
)

REQUESTS = 400
WEBHOOKS = {
    "laravel": make_laravel_payload,
    "java": make_java_payload,
    "frontend": make_frontend_payload,
    "mobile": make_mobile_payload,
    "generic": make_generic_payload,
}
ODD_VALUES: list[Any] = [
    None, True, 0, -1, 2**70, 1.5, 1e308, "", "x" * 3000, "\u0000", "\ud83d", [], {}, [[[]]], {"a": {"b": {}}},
    [1, "a", None], {"": None}, "NaN", "2024-13-45T99:99:99Z", 10**19, -(2**63), [None], {"values": None},
    {"frames": [None]}, {"values": [None, 7]},
]  # fmt: skip
# Fields SDKs fill and the collector reads: most of the mutations land here, where parsing has the most to trip on.
HOT_PATHS = [
    "exception.values.0.stacktrace.frames.0.lineno", "exception.values.0.stacktrace.frames.1.vars",
    "exception.values.0.stacktrace.frames.1.in_app", "exception.values.0.stacktrace.frames.1.function",
    "exception.values.0.stacktrace.frames.1.module", "exception.values.0.stacktrace.frames.1.context_line",
    "exception.values.0.stacktrace.frames", "exception.values.0.stacktrace", "exception.values.0.type",
    "exception.values.0.value", "exception.values.0.mechanism", "exception.values.0", "exception.values", "exception",
    "request", "request.headers", "request.cookies", "request.data", "request.query_string", "request.url",
    "user", "user.id", "user.email", "user.ip_address", "contexts", "contexts.os", "contexts.trace", "tags",
    "fingerprint", "release", "environment", "server_name", "transaction", "logger", "platform", "level",
    "timestamp", "logentry", "logentry.message", "logentry.params", "message", "extra", "sdk", "modules",
    "breadcrumbs", "breadcrumbs.values", "breadcrumbs.values.0", "breadcrumbs.values.0.data", "threads",
    "stacktrace", "event_id",
]  # fmt: skip


class Mutator:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def odd_value(self, depth: int = 0) -> Any:
        roll = self.random.random()
        if depth < 3 and roll < 0.15:
            return [self.odd_value(depth + 1) for _ in range(self.random.randint(0, 3))]
        if depth < 3 and roll < 0.3:
            key = self.random.choice(["type", "value", "frames", "values", "data", "id"])
            return {key: self.odd_value(depth + 1)}
        return copy.deepcopy(self.random.choice(ODD_VALUES))

    def json(self, document: Any) -> Any:
        document = copy.deepcopy(document)
        for _ in range(self.random.randint(1, 3)):
            if isinstance(document, dict) and self.random.random() < 0.5:
                _set_path(document, self.random.choice(HOT_PATHS).split("."), self.odd_value())
                continue
            paths = [path for path in _paths(document) if path]
            if not paths:
                return self.odd_value()
            *parents, last = self.random.choice(paths)
            container = document
            for key in parents:
                container = container[key]
            if isinstance(container, dict) and self.random.random() < 0.2:
                del container[last]
            else:
                container[last] = self.odd_value()
        return document

    def bytes(self, data: bytes) -> bytes:
        mutated = bytearray(data)
        for _ in range(self.random.randint(1, 8)):
            at = self.random.randrange(len(mutated) or 1)
            roll = self.random.random()
            if roll < 0.4 and mutated:
                mutated[at] = self.random.randrange(256)
            elif roll < 0.7:
                del mutated[at : at + self.random.randint(1, 40)]
            else:
                mutated[at:at] = bytes(self.random.randrange(256) for _ in range(self.random.randint(1, 8)))
        return bytes(mutated)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value[:4]) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _set_path(document: dict[str, Any], keys: list[str], value: Any) -> None:
    container: Any = document
    for key in keys[:-1]:
        if isinstance(container, list):
            if not key.isdigit() or int(key) >= len(container):
                return
            container = container[int(key)]
        elif isinstance(container, dict):
            container = container.setdefault(key, {})
        else:
            return
    last = keys[-1]
    if isinstance(container, list) and last.isdigit() and int(last) < len(container):
        container[int(last)] = value
    elif isinstance(container, dict):
        container[last] = value


def _encode(document: Any) -> bytes:
    # A lone surrogate is written as JSON writes it, an escape; orjson and the SDKs would refuse to.
    return json.dumps(document).encode()


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_events_and_webhooks_never_get_a_5xx_and_every_2xx_event_is_stored(collector, seed):
    project_id, dsn, token = collector.create_project()
    key = key_of(dsn)
    mutate = Mutator(seed)
    acked: set[str] = set()
    statuses: dict[int, int] = {}
    with collector.client() as client:
        for _ in range(REQUESTS):
            roll = mutate.random.random()
            if roll < 0.1:  # the pre-envelope endpoint: the event alone
                mutated = mutate.json(make_event(f"fuzz {mutate.random.randrange(50)}"))
                body = mutate.bytes(_encode(mutated)) if mutate.random.random() < 0.25 else _encode(mutated)
                answer = client.post(f"/api/{project_id}/store/", content=body, headers=auth_header(key))
                has_event = True
            elif roll < 0.6:
                event = make_event(f"fuzz {mutate.random.randrange(50)}", breadcrumbs=[{"message": "opened"}])
                mutated = mutate.json(event)
                body = make_envelope(mutated if isinstance(mutated, dict) else None)
                if not isinstance(mutated, dict):
                    body += b'{"type":"event"}\n' + _encode(mutated) + b"\n"
                if mutate.random.random() < 0.25:
                    body = mutate.bytes(body)
                has_event = b'"type": "event"' in body or b'{"type":"event"}' in body
                headers = {"Content-Type": "application/x-sentry-envelope", **auth_header(key)}
                if mutate.random.random() < 0.5:
                    body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
                answer = client.post(f"/api/{project_id}/envelope/", content=body, headers=headers)
            else:
                kind = mutate.random.choice(list(WEBHOOKS))
                payload = mutate.json(WEBHOOKS[kind]())
                if mutate.random.random() < 0.2:
                    payload = [payload, WEBHOOKS[kind]()]
                answer = client.post(
                    f"/api/error-logging/webhook/{kind}/",
                    content=_encode(payload),
                    headers={"Content-Type": "application/json", "X-Errlog-Token": token},
                )
                has_event = True
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            assert answer.status_code < 500, answer.text
            if answer.status_code >= 400:
                assert answer.json()["detail"], answer.text
            elif has_event:
                reply = answer.json()
                acked.update(reply["ids"] if "ids" in reply else [reply["id"]])
        assert client.get("/api/error-logging/webhook/health/").status_code == 200
    # Both kinds of answer came up often: the mutations neither break everything nor leave everything valid.
    assert statuses.get(200, 0) > REQUESTS // 5 and statuses.get(400, 0) > REQUESTS // 5, statuses
    with collector.session() as session:
        stored = set(session.scalars(select(Event.event_id)))
    assert acked <= stored
