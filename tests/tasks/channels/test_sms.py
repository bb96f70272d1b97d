"""Twilio: a form POST to the account's Messages.json with basic auth, one segment of text."""

from __future__ import annotations

import base64

import pytest

from db.enums import Channel
from errlog.settings import Settings, load_settings
from tasks.channels import sms
from tasks.channels.base import DeliveryError
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Receiver, Reply


def twilio(receiver: Receiver) -> Settings:
    return load_settings(
        twilio_base_url=receiver.url,
        twilio_account_sid="AC0123456789abcdef",
        twilio_auth_token="tw-token",
        twilio_from="+15005550006",
    )


def test_message_create(receiver: Receiver) -> None:
    receiver.reply(Reply(201, b'{"sid": "SM123", "status": "queued"}'))
    result = sms.send(make_notification(Channel.SMS, "+4915123456789"), make_message(), twilio(receiver))
    assert result.status_code == 201 and "SM123" in (result.detail or "")

    (request,) = receiver.requests
    assert request.path == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"AC0123456789abcdef:tw-token").decode()
    form = request.form()
    assert form == {
        "To": "+4915123456789",
        "From": "+15005550006",
        "Body": "CRITICAL checkout (production): KeyError: 'sku' #42 errlog-tui --open 42",
    }


def test_an_invalid_number_is_permanent(receiver: Receiver) -> None:
    receiver.reply(Reply(400, b'{"code": 21211, "message": "Invalid \'To\' Phone Number"}'))
    with pytest.raises(DeliveryError, match="21211") as caught:
        sms.send(make_notification(Channel.SMS, "+1"), make_message(), twilio(receiver))
    assert not caught.value.transient and caught.value.status_code == 400


def test_configured_needs_sid_token_and_sender() -> None:
    assert not sms.configured(load_settings(twilio_account_sid="AC1", twilio_auth_token="t"))
    assert sms.configured(load_settings(twilio_account_sid="AC1", twilio_auth_token="t", twilio_from="+15005550006"))
