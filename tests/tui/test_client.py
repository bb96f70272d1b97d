"""The API client: typed answers, and every failure as one ApiError with a sentence a person can act on."""

from __future__ import annotations

import socket

import httpx
import pytest

from db.enums import Role
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_issue, make_project
from tui.client import ApiClient, ApiError

pytestmark = pytest.mark.anyio


def fake(status: int, body: object = None, *, text: str | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (401, {"detail": "unknown or revoked API token"}, "unauthorized", "refused the API token: unknown or revoked"),
        (403, {"detail": "this endpoint needs the responder role"}, "forbidden", "not allowed: this endpoint needs"),
        (404, {"detail": "no error with id 9"}, "not_found", "no error with id 9"),
        (409, {"detail": "nobody is on call for shop now"}, "conflict", "nobody is on call for shop now"),
        (
            422,
            {"detail": "body.reason: Field required", "field": "body.reason"},
            "invalid",
            "body.reason: Field required",
        ),
        (503, {"detail": "storage is unavailable"}, "unavailable", "unavailable (503): storage is unavailable"),
        (500, None, "server", "server error 500"),
    ],
)
async def test_failures_become_api_errors(status: int, body: object, kind: str, message: str) -> None:
    client = ApiClient("http://errlog.test", "t", transport=fake(status, body))
    with pytest.raises(ApiError) as caught:
        await client.act(9, "escalate", reason="x")
    assert caught.value.kind == kind
    assert message in caught.value.message
    assert caught.value.disconnected == (kind == "unavailable")
    await client.aclose()


async def test_an_unreachable_server_says_where() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ApiClient(f"http://127.0.0.1:{port}", "t", timeout=2)
    with pytest.raises(ApiError, match=f"cannot reach the errlog server at http://127.0.0.1:{port}") as caught:
        await client.counts()
    assert caught.value.disconnected
    await client.aclose()


async def test_an_answer_of_the_wrong_shape_is_a_clear_error() -> None:
    client = ApiClient("http://errlog.test", "t", transport=fake(200, {"items": [{"id": "x"}]}))
    with pytest.raises(ApiError, match=r"unexpected answer from the server .* is errlog-tui up to date"):
        await client.list_errors()
    await client.aclose()


async def test_unknown_action_is_refused_before_any_request() -> None:
    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(200, json={}))
    client = ApiClient("http://errlog.test", "t", transport=transport)
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        await client.act(1, "delete")
    assert calls == []
    await client.aclose()


async def test_typed_answers_from_a_live_server(api: ApiClients) -> None:
    with api.collector.session() as session:
        project = make_project(session, "payments")
        critical = make_issue(session, project, severity="critical", title="Gateway timeout")
        make_issue(session, project, severity="low", title="Slow page")
        session.commit()
        critical_id = critical.id
    client = ApiClient(api.collector.url, api.tokens[Role.RESPONDER])
    page = await client.list_errors(sort="severity")
    assert [e.title for e in page.items] == ["Gateway timeout", "Slow page"]
    assert page.items[0].sparkline is not None and len(page.items[0].sparkline) == 24
    counts = await client.counts()
    assert (counts.open, counts.unacknowledged) == (2, 2)
    resolved = await client.act(critical_id, "resolve")
    assert resolved.status == "resolved"
    detail = await client.error(critical_id)
    assert detail.title == "Gateway timeout" and detail.status == "resolved"
    await client.aclose()


async def test_a_viewer_token_cannot_act(api: ApiClients) -> None:
    with api.collector.session() as session:
        issue = make_issue(session, make_project(session))
        session.commit()
        issue_id = issue.id
    client = ApiClient(api.collector.url, api.tokens[Role.VIEWER])
    with pytest.raises(ApiError, match="not allowed: this endpoint needs the responder role") as caught:
        await client.act(issue_id, "resolve")
    assert caught.value.status == 403
    await client.aclose()
