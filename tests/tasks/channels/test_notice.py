"""Notices (not about an error) on e-mail, ntfy and Pushover; other channels refuse them for good."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import send_payload
from tasks.channels.base import DeliveryError
from tasks.notices import Notice
from tests.tasks.channels.helpers import make_notification
from tests.tasks.receivers import Inbox, Receiver, start_smtp

NOTICE = Notice(title="Your on-call shift starts: payments (level 1)", body="You are on call for payments.")


@pytest.fixture
def smtp_url(inbox: Inbox) -> Iterator[str]:
    controller = start_smtp(inbox)
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def test_a_notice_by_e_mail_is_plain_text(smtp_url: str, inbox: Inbox) -> None:
    settings = load_settings(smtp_url=smtp_url)
    send_payload(make_notification(Channel.EMAIL, "ana@example.com"), NOTICE.to_payload(), settings)
    [mail] = inbox.messages()
    assert mail["Subject"] == NOTICE.title and mail["To"] == "ana@example.com"
    assert mail.get_content().strip() == NOTICE.body


def test_a_notice_by_ntfy_and_pushover(receiver: Receiver) -> None:
    settings = load_settings(ntfy_url=receiver.url + "/ntfy", pushover_url=receiver.url + "/po", pushover_token="T")
    send_payload(make_notification(Channel.NTFY, "ana-pager"), NOTICE.to_payload(), settings)
    send_payload(make_notification(Channel.PUSHOVER, "uKEY"), NOTICE.to_payload(), settings)
    push, pushover = receiver.requests
    assert push.json() == {"topic": "ana-pager", "title": NOTICE.title, "message": NOTICE.body, "tags": ["calendar"]}
    assert pushover.path == "/po/1/messages.json"
    assert pushover.form() == {"token": "T", "user": "uKEY", "title": NOTICE.title, "message": NOTICE.body}


def test_a_team_channel_refuses_a_notice_for_good(receiver: Receiver) -> None:
    settings = load_settings(slack_webhook_url=receiver.url + "/slack")
    with pytest.raises(DeliveryError, match="does not carry notices") as caught:
        send_payload(make_notification(Channel.SLACK, "channel"), NOTICE.to_payload(), settings)
    assert not caught.value.transient and receiver.requests == []
