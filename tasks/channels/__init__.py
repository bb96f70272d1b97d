"""The notification channels: one module each, the same small interface, looked up by Channel.

A notification holds one of two kinds of message: an alert about an error (AlertMessage), which every channel
carries, or a notice to a person (Notice: shift starts, summaries), which the channels people read carry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from db.enums import Channel
from db.models import Notification
from errlog.settings import Settings
from tasks.channels import apprise, email, ntfy, pagerduty, pushover, slack, sms, webhook
from tasks.channels.base import DeliveryError, DeliveryResult
from tasks.messages import AlertMessage
from tasks.notices import Notice, is_notice

Send = Callable[[Notification, AlertMessage, Settings], DeliveryResult]
SendNotice = Callable[[Notification, Notice, Settings], DeliveryResult]


@dataclass(frozen=True)
class ChannelSpec:
    # Whether the settings hold what the channel needs (credentials, server URL).
    configured: Callable[[Settings], bool]
    # Delivers one alert: a DeliveryResult, or DeliveryError saying whether to retry.
    send: Send
    # Delivers one notice the same way; None where a notice has no place (an SMS costs money and pages, PagerDuty
    # opens incidents, webhooks feed machines).
    send_notice: SendNotice | None = None


CHANNELS: dict[Channel, ChannelSpec] = {
    Channel.EMAIL: ChannelSpec(email.configured, email.send, email.send_notice),
    Channel.SLACK: ChannelSpec(slack.configured, slack.send, slack.send_notice),
    Channel.SMS: ChannelSpec(sms.configured, sms.send),
    Channel.NTFY: ChannelSpec(ntfy.configured, ntfy.send, ntfy.send_notice),
    Channel.PUSHOVER: ChannelSpec(pushover.configured, pushover.send, pushover.send_notice),
    Channel.PAGERDUTY: ChannelSpec(pagerduty.configured, pagerduty.send),
    Channel.WEBHOOK: ChannelSpec(webhook.configured, webhook.send),
    Channel.APPRISE: ChannelSpec(apprise.configured, apprise.send),
}


def configured_channels(settings: Settings) -> frozenset[Channel]:
    return frozenset(channel for channel, spec in CHANNELS.items() if spec.configured(settings))


def send_payload(notification: Notification, payload: Mapping[str, Any], settings: Settings) -> DeliveryResult:
    """Deliver the message the notification keeps, an alert or a notice, through its channel; DeliveryError says
    whether it is worth retrying."""
    spec = CHANNELS.get(Channel(notification.channel))
    if spec is None:
        raise DeliveryError(f"no sender for channel {notification.channel}", transient=False)
    if not spec.configured(settings):
        raise DeliveryError(f"{notification.channel} is no longer configured", transient=False)
    try:
        message = Notice.from_payload(payload) if is_notice(payload) else AlertMessage.from_payload(payload)
    except (KeyError, TypeError, ValueError) as exc:
        # No retry can make an unreadable payload (edited by hand, or from a format now gone) readable.
        raise DeliveryError(f"unreadable message ({type(exc).__name__}: {exc})", transient=False) from None
    if isinstance(message, AlertMessage):
        return spec.send(notification, message, settings)
    if spec.send_notice is None:
        raise DeliveryError(f"{notification.channel} does not carry notices", transient=False)
    return spec.send_notice(notification, message, settings)


__all__ = [
    "CHANNELS",
    "ChannelSpec",
    "DeliveryError",
    "DeliveryResult",
    "configured_channels",
    "send_payload",
]
