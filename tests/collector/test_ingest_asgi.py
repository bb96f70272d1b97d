"""The ingest endpoints' ASGI plumbing: reading a raw request, and sending ingest paths past the router."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import ClientDisconnect
from starlette.routing import Route

from collector.ingest_asgi import IngestDispatch, IngestEndpoint, KeepAliveBudget, RawRequest
from collector.responses import Answer, json_answer


def http_scope(path: str = "/api/7/envelope/", method: str = "POST", **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
        **extra,
    }


def receiving(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


async def collect(chunks: Any) -> list[bytes]:
    return [chunk async for chunk in chunks]


def test_the_first_of_repeated_headers_and_the_last_of_repeated_query_parameters_count():
    scope = http_scope(
        headers=[(b"x-sentry-auth", b"first"), (b"x-sentry-auth", b"second")],
        query_string=b"sentry_key=a&sentry_key=b&empty=",
    )
    request = RawRequest(scope, receiving())
    assert request.headers["x-sentry-auth"] == "first"
    assert request.query == {"sentry_key": "b", "empty": ""}


def test_the_body_arrives_in_its_chunks_and_a_disconnect_is_raised():
    whole = receiving(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"c", "more_body": False},
    )
    assert asyncio.run(collect(RawRequest(http_scope(), whole).chunks())) == [b"ab", b"c"]
    cut = receiving({"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnect):
        asyncio.run(collect(RawRequest(http_scope(), cut).chunks()))


class Recorder:
    """An ASGI app that notes what reached it."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen.append(dict(scope))


async def project_answer(request: RawRequest) -> Answer:
    return json_answer({"project": request.path_params["project_id"]})


def dispatch(scope: dict[str, Any]) -> tuple[Recorder, list[dict[str, Any]]]:
    behind = Recorder()
    app = IngestDispatch(
        behind, [Route("/api/{project_id:int}/envelope/", IngestEndpoint(project_answer), methods=["POST"])]
    )
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receiving(), send))
    return behind, sent


def test_an_ingest_request_is_answered_by_its_endpoint_with_its_path_parameters():
    behind, sent = dispatch(http_scope())
    assert behind.seen == []
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"project":7}'


@pytest.mark.parametrize(
    "scope",
    [
        http_scope(method="GET"),  # the router answers 405 with Allow
        http_scope(path="/api/7/envelope"),  # the router redirects to the slash
        http_scope(path="/api/seven/envelope/"),
        http_scope(path="/api/error-logging/errors/"),
        {"type": "lifespan"},
    ],
    ids=["other method", "no slash", "not an int", "another path", "lifespan"],
)
def test_anything_else_goes_on_to_the_app(scope):
    behind, sent = dispatch(scope)
    assert len(behind.seen) == 1
    assert sent == []


def test_the_keep_alive_budget_counts_each_connection_apart_and_leaves_unix_sockets_alone():
    budget = KeepAliveBudget(limit=3)
    a, b = {"client": ("10.0.0.1", 5000)}, {"client": ("10.0.0.1", 5001)}
    assert [budget.close_after(a) for _ in range(3)] == [False, False, True]
    assert [budget.close_after(b), budget.close_after(a)] == [False, False]  # a's count began again
    assert not any(budget.close_after({"client": None}) for _ in range(10))
    every = KeepAliveBudget(limit=1)  # one answer per connection: each closes it
    assert [every.close_after(a), every.close_after(a)] == [True, True]
