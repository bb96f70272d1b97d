"""The generic webhook: JSON body, HMAC-SHA256 signature over timestamp.body, a delivery id for deduplication."""

from __future__ import annotations

import hashlib
import hmac

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import webhook
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Receiver


def test_signed_json_the_receiver_can_verify(receiver: Receiver) -> None:
    settings = load_settings(webhook_secret="whsec-test")
    notification = make_notification(Channel.WEBHOOK, receiver.url + "/errlog-hook")
    result = webhook.send(notification, make_message(), settings)
    assert result.status_code == 200

    (request,) = receiver.requests
    assert request.path == "/errlog-hook"
    assert request.headers["content-type"] == "application/json"
    timestamp = request.headers["x-errlog-timestamp"]
    expected = hmac.new(b"whsec-test", timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-errlog-signature"], expected)
    assert request.headers["x-errlog-delivery"] == notification.idempotency_key

    body = request.json()
    assert body["type"] == "errlog.alert" and body["trigger"] == "new" and body["notification_id"] == 5
    error = body["error"]
    assert error["id"] == 42 and error["severity"] == "critical" and error["service"] == "checkout"
    assert error["environment"] == "production" and error["times_seen"] == 3 and error["users_affected"] == 2
    assert error["first_seen"] == "2026-03-01T08:00:00+00:00"
    assert error["tui_command"] == "errlog-tui --open 42"
    assert error["frames"] == [{"where": "cart/views.py:42 in add_item", "source": "price = PRICES[sku]"}]


def test_a_tampered_body_does_not_verify() -> None:
    good = webhook.signature("k", "1700000000", b'{"a":1}')
    assert good != webhook.signature("k", "1700000000", b'{"a":2}')
    assert good != webhook.signature("k", "1700000001", b'{"a":1}')
    assert good != webhook.signature("other", "1700000000", b'{"a":1}')


def test_without_a_secret_the_webhook_goes_unsigned(receiver: Receiver) -> None:
    webhook.send(make_notification(Channel.WEBHOOK, receiver.url), make_message(), load_settings())
    assert "x-errlog-signature" not in receiver.requests[0].headers
    assert "x-errlog-timestamp" in receiver.requests[0].headers
