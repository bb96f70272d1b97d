"""PagerDuty Events API v2: a trigger with the routing key, dedup_key = the error id, summary/severity/source."""

from __future__ import annotations

import pytest

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import pagerduty
from tasks.channels.base import DeliveryError
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Receiver, Reply


def test_trigger_event(receiver: Receiver) -> None:
    receiver.reply(Reply(202, b'{"status":"success","message":"Event processed","dedup_key":"42"}'))
    settings = load_settings(pagerduty_url=receiver.url, pagerduty_routing_key="R0UT1NGKEY")
    result = pagerduty.send(make_notification(Channel.PAGERDUTY, "default"), make_message(), settings)
    assert result.status_code == 202

    (request,) = receiver.requests
    assert request.path == "/v2/enqueue"
    event = request.json()
    assert event["routing_key"] == "R0UT1NGKEY"
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "42"
    payload = event["payload"]
    assert payload["summary"] == "[CRITICAL] checkout: KeyError: 'sku' (New error, production)"
    assert payload["severity"] == "critical"
    assert payload["source"] == "checkout"
    assert payload["group"] == "production"
    assert payload["custom_details"]["Error id"] == 42
    assert payload["custom_details"]["Stack trace"] == ["cart/views.py:42 in add_item: price = PRICES[sku]"]
    assert event["links"][0]["href"] == "http://127.0.0.1:8000/api/error-logging/errors/42/"


@pytest.mark.parametrize(("ours", "theirs"), [("high", "error"), ("medium", "warning"), ("low", "info")])
def test_severity_mapping(receiver: Receiver, ours: str, theirs: str) -> None:
    settings = load_settings(pagerduty_url=receiver.url, pagerduty_routing_key="K")
    pagerduty.send(make_notification(Channel.PAGERDUTY, "default"), make_message(severity=ours), settings)
    assert receiver.requests[0].json()["payload"]["severity"] == theirs


def test_a_rejected_event_is_permanent(receiver: Receiver) -> None:
    receiver.reply(Reply(400, b'{"status":"invalid event","errors":["routing_key is invalid"]}'))
    settings = load_settings(pagerduty_url=receiver.url, pagerduty_routing_key="bad")
    with pytest.raises(DeliveryError, match="routing_key is invalid") as caught:
        pagerduty.send(make_notification(Channel.PAGERDUTY, "default"), make_message(), settings)
    assert not caught.value.transient


@pytest.mark.parametrize(("trigger", "action"), [("acknowledged", "acknowledge"), ("resolved", "resolve")])
def test_acknowledge_and_resolve_name_the_incident_by_its_dedup_key(
    receiver: Receiver, trigger: str, action: str
) -> None:
    settings = load_settings(pagerduty_url=receiver.url, pagerduty_routing_key="R0UT1NGKEY")
    pagerduty.send(make_notification(Channel.PAGERDUTY, "default"), make_message(trigger=trigger), settings)
    assert receiver.requests[0].json() == {"routing_key": "R0UT1NGKEY", "event_action": action, "dedup_key": "42"}
