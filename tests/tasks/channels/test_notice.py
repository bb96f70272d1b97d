"""Notices (messages to a person that are not alerts) through the one dispatch: e-mail as text and HTML, Slack as
blocks, ntfy and Pushover as title and text; the paging-only channels refuse them for good, as they do a payload
nobody can read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import send_payload, slack
from tasks.channels.base import DeliveryError
from tasks.notices import Notice, Section, body_text
from tests.tasks.channels.helpers import make_notification
from tests.tasks.receivers import Inbox, Receiver, start_smtp

NOTICE = Notice(
    kind="weekly_digest",  # a kind no channel module knows of
    title="Your week <on call> & after",
    intro=["Quiet week.", "Two errors."],
    sections=[Section("Still open", ["#7 KeyError: 'sku'"]), Section("Resolved", [], empty="nothing")],
)


@pytest.fixture
def smtp_url(inbox: Inbox) -> Iterator[str]:
    controller = start_smtp(inbox)
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def test_a_notice_survives_the_stored_payload() -> None:
    assert Notice.from_payload(NOTICE.to_payload()) == Notice(
        kind=NOTICE.kind,
        title=NOTICE.title,
        intro=tuple(NOTICE.intro),
        sections=(Section("Still open", ("#7 KeyError: 'sku'",)), Section("Resolved", (), empty="nothing")),
    )


def test_a_notice_by_e_mail_is_text_and_html(smtp_url: str, inbox: Inbox) -> None:
    settings = load_settings(smtp_url=smtp_url)
    send_payload(make_notification(Channel.EMAIL, "ana@example.com"), NOTICE.to_payload(), settings)
    [mail] = inbox.messages()
    assert mail["Subject"] == NOTICE.title and mail["To"] == "ana@example.com"
    assert mail["X-Errlog-Notice"] == "weekly_digest"
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith(f"{NOTICE.title}\n{'=' * len(NOTICE.title)}\n\nQuiet week.\nTwo errors.\n\nStill open\n")
    assert "  - #7 KeyError: 'sku'\n\nResolved\n  - nothing\n" in text
    page = mail.get_body(("html",)).get_content()
    assert "<h2>Your week &lt;on call&gt; &amp; after</h2>" in page
    assert "<h3>Resolved</h3><ul><li><em>nothing</em></li></ul>" in page


def test_a_notice_on_slack_is_blocks_escaped_for_mrkdwn(receiver: Receiver) -> None:
    settings = load_settings(slack_webhook_url=receiver.url + "/slack")
    send_payload(make_notification(Channel.SLACK, "@U024BE7LH"), NOTICE.to_payload(), settings)
    body = receiver.requests[0].json()
    assert body["text"] == "Your week &lt;on call&gt; &amp; after <@U024BE7LH>"
    header, intro, still_open, resolved = body["blocks"]
    assert header["text"] == {"type": "plain_text", "text": NOTICE.title}  # plain text: no escaping
    assert intro["text"]["text"] == "Quiet week.\nTwo errors. <@U024BE7LH>"
    assert still_open["text"]["text"] == "*Still open*\n• #7 KeyError: 'sku'"
    assert resolved["text"]["text"] == "*Resolved*\n_nothing_"


def test_a_long_notice_fits_slack_s_block_limit_and_says_what_it_left_out() -> None:
    notice = Notice("daily_summary", "subject", ["intro"], [Section(f"project {n}", [f"error {n}"]) for n in range(60)])
    blocks = slack.notice_payload(make_notification(Channel.SLACK, "channel"), notice)["blocks"]
    assert len(blocks) == 50
    assert blocks[-1]["elements"][0]["text"] == "13 more section(s) in the e-mail version"
    assert "project 59" in body_text(notice)


def test_a_notice_by_ntfy_and_pushover_is_title_and_text(receiver: Receiver) -> None:
    settings = load_settings(ntfy_url=receiver.url + "/ntfy", pushover_url=receiver.url + "/po", pushover_token="T")
    send_payload(make_notification(Channel.NTFY, "ana-pager"), NOTICE.to_payload(), settings)
    send_payload(make_notification(Channel.PUSHOVER, "uKEY"), NOTICE.to_payload(), settings)
    push, pushover = receiver.requests
    text = "Quiet week.\nTwo errors.\n\nStill open\n  - #7 KeyError: 'sku'\n\nResolved\n  - nothing"
    assert push.json() == {"topic": "ana-pager", "title": NOTICE.title, "message": text, "tags": ["memo"]}
    assert pushover.path == "/po/1/messages.json"
    assert pushover.form() == {"token": "T", "user": "uKEY", "title": NOTICE.title, "message": text}


def test_a_long_notice_is_cut_to_what_the_phone_services_take(receiver: Receiver) -> None:
    settings = load_settings(ntfy_url=receiver.url, pushover_url=receiver.url, pushover_token="T")
    long = Notice("daily_summary", "subject", ["é" * 5000])  # two bytes each in UTF-8
    send_payload(make_notification(Channel.NTFY, "ana-pager"), long.to_payload(), settings)
    send_payload(make_notification(Channel.PUSHOVER, "uKEY"), long.to_payload(), settings)
    push, pushover = receiver.requests
    assert len(push.json()["message"].encode()) <= 4096 and push.json()["message"].endswith("é...")
    assert len(pushover.form()["message"]) == 1024


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.PAGERDUTY, Channel.WEBHOOK])
def test_a_paging_channel_refuses_a_notice_for_good(receiver: Receiver, channel: Channel) -> None:
    settings = load_settings(
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from="+15550001111",
        twilio_base_url=receiver.url,
        pagerduty_routing_key="R",
        pagerduty_url=receiver.url,
    )
    with pytest.raises(DeliveryError, match="does not carry notices") as caught:
        send_payload(make_notification(channel, receiver.url + "/hook"), NOTICE.to_payload(), settings)
    assert not caught.value.transient and receiver.requests == []


@pytest.mark.parametrize(
    "payload",
    [{"kind": "notice", "title": "t", "body": "b"}, {"notice": {"title": "no kind"}}, {"issue_id": 1}],
)
def test_an_unreadable_payload_fails_for_good_without_sending(receiver: Receiver, payload: dict) -> None:
    settings = load_settings(ntfy_url=receiver.url)
    with pytest.raises(DeliveryError, match="unreadable message") as caught:
        send_payload(make_notification(Channel.NTFY, "ana-pager"), payload, settings)
    assert not caught.value.transient and receiver.requests == []
