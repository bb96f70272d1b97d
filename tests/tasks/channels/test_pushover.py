"""Pushover: the application token and the developer's user key, priority by severity (critical is emergency)."""

from __future__ import annotations

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import pushover
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Receiver


def test_emergency_priority_for_critical(receiver: Receiver) -> None:
    settings = load_settings(pushover_url=receiver.url, pushover_token="app-token")
    pushover.send(make_notification(Channel.PUSHOVER, "user-key"), make_message(), settings)
    (request,) = receiver.requests
    assert request.path == "/1/messages.json"
    form = request.form()
    assert form["token"] == "app-token" and form["user"] == "user-key"
    assert form["priority"] == "2" and form["retry"] == "60" and form["expire"] == "1800"
    assert form["title"] == "CRITICAL checkout: KeyError: 'sku'"
    assert form["url"] == "http://127.0.0.1:8000/api/error-logging/errors/42/"
    assert "errlog-tui --open 42" in form["message"]


def test_high_is_not_an_emergency(receiver: Receiver) -> None:
    settings = load_settings(pushover_url=receiver.url, pushover_token="app-token")
    pushover.send(make_notification(Channel.PUSHOVER, "user-key"), make_message(severity="high"), settings)
    form = receiver.requests[0].form()
    assert form["priority"] == "1" and "retry" not in form
