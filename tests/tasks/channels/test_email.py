"""E-mail through a real SMTP server (aiosmtpd): plain, STARTTLS with login and TLS; the mail parsed back."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.enums import Channel
from errlog.settings import load_settings
from tasks.channels import email
from tasks.channels.base import DeliveryError
from tasks.channels.email import SmtpServer, parse_smtp_url
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Inbox, free_port, start_smtp


@pytest.fixture
def trust(tls_certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the test certificate trusted by the client's default context, as a real CA-signed one would be."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_certificate[0]))


@pytest.fixture
def plain_smtp(inbox: Inbox) -> Iterator[str]:
    controller = start_smtp(inbox)
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def send(url: str, **message_fields: object) -> None:
    settings = load_settings(smtp_url=url, smtp_from="errlog <alerts@example.com>")
    email.send(make_notification(Channel.EMAIL, "ana@example.com"), make_message(**message_fields), settings)


def test_multipart_mail_with_every_fact(plain_smtp: str, inbox: Inbox) -> None:
    send(plain_smtp)
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "alerts@example.com"
    assert envelope.rcpt_tos == ["ana@example.com"]
    (mail,) = inbox.messages()
    assert mail["Subject"] == "[CRITICAL] checkout: KeyError: 'sku' (New error, production)"
    assert mail["To"] == "ana@example.com"
    assert mail["X-Errlog-Error-Id"] == "42"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    text, page = plain.get_content(), rich.get_content()
    for fact in ["CRITICAL", "checkout", "production", "2026-03-01 08:00:00 UTC", "2026-03-10 12:30:00 UTC"]:
        assert fact in text and fact in page
    assert "Events          3" in text and "Users affected  2" in text
    assert "cart/views.py:42 in add_item" in text and "price = PRICES[sku]" in page
    assert "Error id: 42" in text and "errlog-tui --open 42" in text and "errlog-tui --open 42" in page


def test_starttls_and_login(inbox: Inbox, server_tls: ssl.SSLContext, trust: None) -> None:
    controller = start_smtp(inbox, tls_context=server_tls, require_starttls=True)
    try:
        send(f"smtp://ops%40example.com:s3cret@127.0.0.1:{controller.port}?starttls=1")
    finally:
        controller.stop()
    assert inbox.logins == [("ops@example.com", "PLAIN")]
    assert len(inbox.messages()) == 1


def test_implicit_tls(inbox: Inbox, server_tls: ssl.SSLContext, trust: None) -> None:
    # aiosmtpd only counts STARTTLS as TLS for AUTH; here the whole connection is TLS from the start.
    controller = start_smtp(inbox, server_hostname="127.0.0.1", ssl_context=server_tls, auth_require_tls=False)
    try:
        send(f"smtps://ops:s3cret@127.0.0.1:{controller.port}")
    finally:
        controller.stop()
    assert inbox.logins == [("ops", "PLAIN")]
    assert len(inbox.messages()) == 1


def test_an_untrusted_certificate_is_permanent(inbox: Inbox, server_tls: ssl.SSLContext) -> None:
    controller = start_smtp(inbox, tls_context=server_tls, require_starttls=True)
    try:
        with pytest.raises(DeliveryError, match="certificate not trusted") as caught:
            send(f"smtp://127.0.0.1:{controller.port}?starttls=1")
    finally:
        controller.stop()
    assert not caught.value.transient
    assert inbox.envelopes == []


@pytest.mark.parametrize(
    ("reply", "transient"), [("550 5.1.1 no such user", False), ("451 4.3.0 try again later", True)]
)
def test_a_refused_recipient(plain_smtp: str, inbox: Inbox, reply: str, transient: bool) -> None:
    inbox.refuse = reply
    with pytest.raises(DeliveryError, match="recipient refused") as caught:
        send(plain_smtp)
    assert caught.value.transient is transient
    assert caught.value.status_code == int(reply[:3])


def test_a_wrong_password_is_permanent(inbox: Inbox, server_tls: ssl.SSLContext, trust: None) -> None:
    controller = start_smtp(inbox, tls_context=server_tls, require_starttls=True)
    try:
        with pytest.raises(DeliveryError, match="SMTP 535") as caught:
            send(f"smtp://ops:wrong@127.0.0.1:{controller.port}?starttls=1")
    finally:
        controller.stop()
    assert not caught.value.transient


def test_no_server_is_transient() -> None:
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as caught:
        send(f"smtp://127.0.0.1:{free_port()}")
    assert caught.value.transient


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 25, "none")),
        ("smtp://u:p%2Fw@mail.example.com?starttls=1", SmtpServer("mail.example.com", 587, "starttls", "u", "p/w")),
        ("smtp://mail.example.com:2525?starttls=true", SmtpServer("mail.example.com", 2525, "starttls")),
        ("smtps://u:p@mail.example.com", SmtpServer("mail.example.com", 465, "tls", "u", "p")),
    ],
)
def test_parse_smtp_url(url: str, server: SmtpServer) -> None:
    assert parse_smtp_url(url) == server


def test_parse_smtp_url_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="not an SMTP URL"):
        parse_smtp_url("http://mail.example.com")
