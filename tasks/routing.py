"""Who hears about an alert and on which channels: pure decisions from the matrix, overrides and quiet hours."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from db.enums import Channel, Severity

# Channels that reach one person: the recipient's preferences choose among them and quiet hours hold them back.
PERSONAL: tuple[Channel, ...] = (Channel.NTFY, Channel.PUSHOVER, Channel.SMS, Channel.EMAIL)
# Channels the team shares (a Slack channel, the PagerDuty service, the Apprise URLs): they follow the project's
# matrix alone.
SHARED: tuple[Channel, ...] = (Channel.SLACK, Channel.PAGERDUTY, Channel.APPRISE)
ROUTABLE = frozenset(PERSONAL + SHARED)

DEFAULT_MATRIX: Mapping[Severity, tuple[Channel, ...]] = {
    Severity.CRITICAL: (Channel.NTFY, Channel.SMS, Channel.SLACK, Channel.EMAIL, Channel.PAGERDUTY, Channel.APPRISE),
    Severity.HIGH: (Channel.NTFY, Channel.SLACK, Channel.EMAIL, Channel.APPRISE),
    Severity.MEDIUM: (Channel.SLACK,),
    Severity.LOW: (),  # the daily summary only
}

# What a recipient needs for each personal channel, for the reason given when it is missing.
_CONTACT = {
    Channel.EMAIL: "e-mail address",
    Channel.SMS: "phone number",
    Channel.NTFY: "ntfy topic",
    Channel.PUSHOVER: "Pushover user key",
}


class RoutingError(ValueError):
    """A routing table or channel list that cannot be used; the message says why."""


@dataclass(frozen=True)
class Recipient:
    """The person an alert is for, with the contacts and wishes routing needs."""

    developer_id: int
    name: str
    source: str  # "assignee", "on-call", "fallback" or "escalation"
    email: str | None = None
    phone: str | None = None
    slack_id: str | None = None
    ntfy_topic: str | None = None
    pushover_user_key: str | None = None
    timezone: str = "UTC"
    channel_preferences: Mapping[str, Any] | None = None
    quiet_hours_start: dt.time | None = None
    quiet_hours_end: dt.time | None = None

    def target(self, channel: Channel) -> str | None:
        return {
            Channel.EMAIL: self.email,
            Channel.SMS: self.phone,
            Channel.NTFY: self.ntfy_topic,
            Channel.PUSHOVER: self.pushover_user_key,
        }.get(channel)


@dataclass(frozen=True)
class Route:
    """One notification to create: `suppressed` says why it is held back (kept, visible, not sent)."""

    channel: Channel
    target: str
    developer_id: int | None
    suppressed: str | None = None


@dataclass
class RoutePlan:
    routes: list[Route] = field(default_factory=list)
    # Why channels that would have applied were left out (nothing to send to, not configured, ...), for the log.
    skipped: list[str] = field(default_factory=list)


def parse_channels(names: Any, where: str) -> tuple[Channel, ...]:
    """A list of routable channel names, e.g. ["sms", "slack"], as Channels; RoutingError names the bad one."""
    if not isinstance(names, list | tuple):
        raise RoutingError(f"{where}: expected a list of channel names, got {names!r}")
    channels = []
    for name in names:
        try:
            channel = Channel(name)
        except ValueError:
            channel = None
        if channel is None or channel not in ROUTABLE:
            choices = ", ".join(sorted(ROUTABLE))
            raise RoutingError(f"{where}: unknown channel {name!r}; choose from {choices}")
        if channel not in channels:
            channels.append(channel)
    return tuple(channels)


def check_routing(routing: Any) -> dict[str, list[str]]:
    """A project's severity -> channels table, checked: what the API and CLI store in Project.routing."""
    if not isinstance(routing, Mapping):
        raise RoutingError(f"routing must map severities to channel lists, got {routing!r}")
    checked = {}
    for severity, names in routing.items():
        if severity not in {s.value for s in Severity}:
            raise RoutingError(f"unknown severity {severity!r}; choose from {', '.join(s.value for s in Severity)}")
        checked[severity] = [c.value for c in parse_channels(names, f"routing[{severity!r}]")]
    return checked


def matrix_channels(
    severity: Severity, project_routing: Mapping[str, Any] | None, skipped: list[str]
) -> tuple[Channel, ...]:
    """The project's channels for `severity`, else the company-wide default."""
    if project_routing and severity.value in project_routing:
        try:
            return parse_channels(project_routing[severity.value], f"project routing for {severity.value}")
        except RoutingError as exc:  # stored before validation existed, or edited by hand: page by the defaults
            skipped.append(f"{exc}; using the default channels")
    return DEFAULT_MATRIX[severity]


def environment_alerts(environment: str | None, alert_environments: Collection[str] | None) -> bool:
    """Whether an event in `environment` alerts at all: a project can limit alerts to, say, ["production"]."""
    return alert_environments is None or environment in alert_environments


def personal_channels(severity: Severity, matrix: tuple[Channel, ...], recipient: Recipient) -> tuple[Channel, ...]:
    """The recipient's own choice for this severity when they made one, else the matrix's personal channels."""
    wanted = (recipient.channel_preferences or {}).get(severity.value)
    if wanted is None:
        return tuple(c for c in matrix if c in PERSONAL)
    # Preferences pick among the personal channels; unknown or team-wide names in them change nothing.
    return tuple(c for c in PERSONAL if c.value in wanted)


def in_quiet_hours(recipient: Recipient, now: dt.datetime) -> bool:
    """Whether `now` falls in the recipient's local quiet hours; a span like 22:00-07:00 crosses midnight."""
    start, end = recipient.quiet_hours_start, recipient.quiet_hours_end
    if start is None or end is None or start == end:
        return False
    try:
        zone = zoneinfo.ZoneInfo(recipient.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        zone = zoneinfo.ZoneInfo("UTC")  # validated on input; an unreadable zone must not stop the page
    local = now.astimezone(zone).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def plan_routes(
    *,
    severity: Severity,
    environment: str | None,
    recipient: Recipient | None,
    configured: Collection[Channel],
    now: dt.datetime,
    project_routing: Mapping[str, Any] | None = None,
    alert_environments: Collection[str] | None = None,
    webhook_urls: Collection[str] = (),
) -> RoutePlan:
    """The notifications one alert makes.

    `configured` are the channels with credentials in the settings; `webhook_urls` the integrations (company-wide
    and the project's own) that receive every alert of their scope, whatever its severity and with no recipient.
    """
    plan = RoutePlan()
    if not environment_alerts(environment, alert_environments):
        plan.skipped.append(f"environment {environment!r} does not alert (the project alerts for {alert_environments})")
        return plan

    matrix = matrix_channels(severity, project_routing, plan.skipped)
    if recipient is None:
        if any(c in PERSONAL for c in matrix):
            plan.skipped.append("nobody to page: no assignee, nobody on call and no fallback developer")
        personal: tuple[Channel, ...] = ()
    else:
        personal = personal_channels(severity, matrix, recipient)
    quiet = (
        recipient is not None
        and severity != Severity.CRITICAL  # critical alerts break quiet hours
        and in_quiet_hours(recipient, now)
    )

    for channel in personal:
        assert recipient is not None
        target = recipient.target(channel)
        if channel not in configured:
            plan.skipped.append(f"{channel.value} is not configured")
        elif not target:
            plan.skipped.append(f"{recipient.name} has no {_CONTACT[channel]}, so no {channel.value}")
        else:
            reason = None
            if quiet:
                reason = (
                    f"quiet hours of {recipient.name} ({_clock(recipient.quiet_hours_start)}-"
                    f"{_clock(recipient.quiet_hours_end)} {recipient.timezone})"
                )
            plan.routes.append(Route(channel, target, recipient.developer_id, reason))

    for channel in (c for c in matrix if c in SHARED):
        if channel not in configured:
            plan.skipped.append(f"{channel.value} is not configured")
            continue
        if channel == Channel.SLACK:
            # One channel for everybody; the recipient is mentioned there when they have a Slack id.
            target = f"@{recipient.slack_id}" if recipient and recipient.slack_id else "channel"
        else:
            target = "default"  # the company-wide routing key, or every Apprise URL
        plan.routes.append(Route(channel, target, recipient.developer_id if recipient else None))

    for url in dict.fromkeys(webhook_urls):  # the same URL twice (company and project) gets it once
        plan.routes.append(Route(Channel.WEBHOOK, url, None))
    return plan


def _clock(value: dt.time | None) -> str:
    return "-" if value is None else value.strftime("%H:%M")
