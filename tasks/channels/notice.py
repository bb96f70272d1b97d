"""Notices (not about an error) on the personal channels that carry them: e-mail, ntfy and Pushover."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from db.enums import Channel
from db.models import Notification
from errlog.settings import Settings
from tasks.channels import email
from tasks.channels.base import DeliveryError, DeliveryResult, post
from tasks.notices import Notice

CHANNELS = (Channel.EMAIL, Channel.NTFY, Channel.PUSHOVER)


def compose(notification: Notification, notice: Notice, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = notice.title
    mail["From"] = sender
    mail["To"] = notification.target
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid("errlog")
    mail.set_content(notice.body + "\n")
    return mail


def send(notification: Notification, notice: Notice, settings: Settings) -> DeliveryResult:
    channel = Channel(notification.channel)
    timeout = settings.notification_timeout_seconds
    if channel == Channel.EMAIL:
        server = email.smtp_server(settings)
        return email.transmit(compose(notification, notice, settings.smtp_from), server, timeout)
    if channel == Channel.NTFY:
        headers = {}
        if settings.ntfy_token is not None:
            headers["Authorization"] = f"Bearer {settings.ntfy_token.get_secret_value()}"
        body = {"topic": notification.target, "title": notice.title, "message": notice.body, "tags": ["calendar"]}
        return post(settings.ntfy_url + "/", json=body, headers=headers, timeout=timeout)
    if channel == Channel.PUSHOVER:
        if settings.pushover_token is None:
            raise DeliveryError("Pushover is not configured (ERRLOG_PUSHOVER_TOKEN)", transient=False)
        form = {
            "token": settings.pushover_token.get_secret_value(),
            "user": notification.target,
            "title": notice.title[:250],
            "message": notice.body[:1024],
        }
        return post(settings.pushover_url + "/1/messages.json", data=form, timeout=timeout)
    raise DeliveryError(f"{channel} does not carry notices", transient=False)
