"""The notification channels: one module each, the same small interface, looked up by Channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from db.enums import Channel
from db.models import Notification
from errlog.settings import Settings
from tasks.channels import apprise, email, ntfy, pagerduty, pushover, slack, sms, webhook
from tasks.channels.base import DeliveryError, DeliveryResult
from tasks.messages import AlertMessage

Send = Callable[[Notification, AlertMessage, Settings], DeliveryResult]


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


def configured_channels(settings: Settings) -> frozenset[Channel]:
    return frozenset(channel for channel, spec in CHANNELS.items() if spec.configured(settings))


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    """Deliver through the notification's channel; DeliveryError says whether it is worth retrying."""
    spec = CHANNELS.get(Channel(notification.channel))
    if spec is None:
        raise DeliveryError(f"no sender for channel {notification.channel}", transient=False)
    if not spec.configured(settings):
        raise DeliveryError(f"{notification.channel} is no longer configured", transient=False)
    return spec.send(notification, message, settings)


__all__ = ["CHANNELS", "ChannelSpec", "DeliveryError", "DeliveryResult", "configured_channels", "send"]
