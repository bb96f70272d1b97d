"""The notification channels: one module each, the same small interface, looked up by Channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from db.enums import Channel
from db.models import Notification
from errlog.settings import Settings
from tasks.channels import apprise, email, notice, ntfy, pagerduty, pushover, slack, sms, webhook
from tasks.channels.base import DeliveryError, DeliveryResult
from tasks.digest import DigestMessage, message_from_payload
from tasks.messages import AlertMessage
from tasks.notices import Notice, is_notice

Send = Callable[[Notification, AlertMessage, Settings], DeliveryResult]
SendDigest = Callable[[Notification, DigestMessage, Settings], DeliveryResult]


@dataclass(frozen=True)
class ChannelSpec:
    # Whether the settings hold what the channel needs (credentials, server URL).
    configured: Callable[[Settings], bool]
    # Delivers one notification: a DeliveryResult, or DeliveryError saying whether to retry.
    send: Send


CHANNELS: dict[Channel, ChannelSpec] = {
    Channel.EMAIL: ChannelSpec(email.configured, email.send),
    Channel.SLACK: ChannelSpec(slack.configured, slack.send),
    Channel.SMS: ChannelSpec(sms.configured, sms.send),
    Channel.NTFY: ChannelSpec(ntfy.configured, ntfy.send),
    Channel.PUSHOVER: ChannelSpec(pushover.configured, pushover.send),
    Channel.PAGERDUTY: ChannelSpec(pagerduty.configured, pagerduty.send),
    Channel.WEBHOOK: ChannelSpec(webhook.configured, webhook.send),
    Channel.APPRISE: ChannelSpec(apprise.configured, apprise.send),
}

# Summaries are long reads: they go by e-mail and to the team's Slack channel only.
DIGEST_SENDERS: dict[Channel, SendDigest] = {Channel.EMAIL: email.send_digest, Channel.SLACK: slack.send_digest}


def configured_channels(settings: Settings) -> frozenset[Channel]:
    return frozenset(channel for channel, spec in CHANNELS.items() if spec.configured(settings))


def send(notification: Notification, message: AlertMessage | DigestMessage, settings: Settings) -> DeliveryResult:
    """Deliver through the notification's channel; DeliveryError says whether it is worth retrying."""
    spec = CHANNELS.get(Channel(notification.channel))
    if spec is None:
        raise DeliveryError(f"no sender for channel {notification.channel}", transient=False)
    if not spec.configured(settings):
        raise DeliveryError(f"{notification.channel} is no longer configured", transient=False)
    if isinstance(message, DigestMessage):
        send_digest = DIGEST_SENDERS.get(Channel(notification.channel))
        if send_digest is None:
            raise DeliveryError(f"summaries are not sent by {notification.channel}", transient=False)
        return send_digest(notification, message, settings)
    return spec.send(notification, message, settings)


def send_payload(notification: Notification, payload: dict[str, Any], settings: Settings) -> DeliveryResult:
    """Deliver the message the notification keeps: an alert about an error, a summary, or a notice to one person."""
    if is_notice(payload):
        spec = CHANNELS.get(Channel(notification.channel))
        if spec is None or not spec.configured(settings):
            raise DeliveryError(f"{notification.channel} is not configured", transient=False)
        return notice.send(notification, Notice.from_payload(payload), settings)
    return send(notification, message_from_payload(payload), settings)


__all__ = [
    "CHANNELS",
    "ChannelSpec",
    "DeliveryError",
    "DeliveryResult",
    "configured_channels",
    "send",
    "send_payload",
]
