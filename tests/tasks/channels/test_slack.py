"""Slack incoming webhook: Block Kit with the severity colour, fields, the stack, a link button, a mention."""

from __future__ import annotations

import pytest

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import slack
from tasks.channels.base import DeliveryError
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Receiver, Reply


def blocks_of(body: dict, kind: str) -> list[dict]:
    return [block for block in body["attachments"][0]["blocks"] if block["type"] == kind]


def test_block_kit_message(receiver: Receiver) -> None:
    settings = load_settings(slack_webhook_url=receiver.url + "/services/T000/B000/XXXX")
    message = make_message(title="TypeError: a < b & c")
    slack.send(make_notification(Channel.SLACK, "@U024BE7LH"), message, settings)

    (request,) = receiver.requests
    assert request.path == "/services/T000/B000/XXXX"
    body = request.json()
    assert body["text"] == "[CRITICAL] checkout: TypeError: a &lt; b &amp; c (New error, production) <@U024BE7LH>"
    assert body["attachments"][0]["color"] == "#b71c1c"
    (header,) = blocks_of(body, "header")
    assert header["text"] == {"type": "plain_text", "text": "TypeError: a < b & c"}  # plain text: no escaping
    intro, fields, stack = blocks_of(body, "section")
    assert intro["text"]["text"] == "*New error* in *checkout* <@U024BE7LH>"
    assert {"type": "mrkdwn", "text": "*Severity*\nCRITICAL"} in fields["fields"]
    assert {"type": "mrkdwn", "text": "*Environment*\nproduction"} in fields["fields"]
    assert len(fields["fields"]) <= 10
    assert stack["text"]["text"] == "```cart/views.py:42 in add_item\n    price = PRICES[sku]```"
    (actions,) = blocks_of(body, "actions")
    assert actions["elements"][0]["url"] == "http://127.0.0.1:8000/api/error-logging/errors/42/"
    (context,) = blocks_of(body, "context")
    assert "`errlog-tui --open 42`" in context["elements"][0]["text"]


def test_without_a_member_id_nobody_is_mentioned(receiver: Receiver) -> None:
    settings = load_settings(slack_webhook_url=receiver.url)
    slack.send(make_notification(Channel.SLACK, "channel"), make_message(severity="medium"), settings)
    body = receiver.requests[0].json()
    assert "<@" not in body["text"]
    assert body["attachments"][0]["color"] == "#f9a825"


def test_an_archived_channel_is_permanent(receiver: Receiver) -> None:
    receiver.reply(Reply(410, b"channel_is_archived"))
    settings = load_settings(slack_webhook_url=receiver.url)
    with pytest.raises(DeliveryError, match="channel_is_archived") as caught:
        slack.send(make_notification(Channel.SLACK, "channel"), make_message(), settings)
    assert not caught.value.transient
