"""ntfy: JSON published to the server root, the developer's topic, priority and tags by severity, a click URL."""

from __future__ import annotations

import pytest

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import ntfy
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Receiver


@pytest.mark.parametrize(
    ("severity", "priority", "tag"),
    [("critical", 5, "rotating_light"), ("high", 4, "warning"), ("medium", 3, "large_orange_diamond")],
)
def test_publish(receiver: Receiver, severity: str, priority: int, tag: str) -> None:
    settings = load_settings(ntfy_url=receiver.url, ntfy_token="tk_secret")
    ntfy.send(make_notification(Channel.NTFY, "ana-pager"), make_message(severity=severity), settings)

    (request,) = receiver.requests
    assert request.path == "/"
    assert request.headers["authorization"] == "Bearer tk_secret"
    body = request.json()
    assert body["topic"] == "ana-pager"
    assert body["title"] == f"{severity.upper()} checkout: KeyError: 'sku'"
    assert body["priority"] == priority
    assert body["tags"] == [tag, severity, "production"]
    assert body["click"] == "http://127.0.0.1:8000/api/error-logging/errors/42/"
    assert body["message"].splitlines() == [
        "New error in checkout (production)",
        "3 events, 2 users",
        "cart/views.py:42 in add_item",
        "errlog-tui --open 42",
    ]


def test_no_token_no_authorization(receiver: Receiver) -> None:
    ntfy.send(make_notification(Channel.NTFY, "t"), make_message(), load_settings(ntfy_url=receiver.url))
    assert "authorization" not in receiver.requests[0].headers
