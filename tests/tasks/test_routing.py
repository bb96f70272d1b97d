"""Routing decisions: the severity matrix and what overrides it, quiet hours, targets and configured channels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from db.enums import Channel, Severity
from tasks.routing import (
    DEFAULT_MATRIX,
    Recipient,
    Route,
    RoutePlan,
    RoutingError,
    check_routing,
    in_quiet_hours,
    plan_routes,
)

# Apprise, the optional bridge, is left out here so the tables below read as the built-in channels; it has its own
# tests at the end.
ALL = frozenset(Channel) - {Channel.APPRISE}
NOON_UTC = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def ana(**fields: Any) -> Recipient:
    contacts: dict[str, Any] = {
        "email": "ana@example.com",
        "phone": "+4915123456789",
        "slack_id": "U024BE7LH",
        "ntfy_topic": "ana-pager",
        "pushover_user_key": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG",
    }
    contacts.update(fields)
    return Recipient(developer_id=7, name="Ana", source="assignee", **contacts)


def channels(routes: list[Route]) -> list[Channel]:
    return [route.channel for route in routes]


def plan(severity: Severity, **options: Any) -> RoutePlan:
    options.setdefault("environment", "production")
    options.setdefault("recipient", ana())
    options.setdefault("configured", ALL)
    options.setdefault("now", NOON_UTC)
    return plan_routes(severity=severity, **options)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, [Channel.NTFY, Channel.SMS, Channel.EMAIL, Channel.SLACK, Channel.PAGERDUTY]),
        (Severity.HIGH, [Channel.NTFY, Channel.EMAIL, Channel.SLACK]),
        (Severity.MEDIUM, [Channel.SLACK]),
        (Severity.LOW, []),
    ],
)
def test_default_matrix(severity: Severity, expected: list[Channel]) -> None:
    result = plan(severity)
    assert sorted(channels(result.routes)) == sorted(expected)
    bridged = {Channel.APPRISE} if severity in (Severity.CRITICAL, Severity.HIGH) else set()
    assert set(expected) | bridged == set(DEFAULT_MATRIX[severity])


def test_routes_carry_the_recipients_targets() -> None:
    targets = {route.channel: route.target for route in plan(Severity.CRITICAL).routes}
    assert targets == {
        Channel.NTFY: "ana-pager",
        Channel.SMS: "+4915123456789",
        Channel.EMAIL: "ana@example.com",
        Channel.SLACK: "@U024BE7LH",
        Channel.PAGERDUTY: "default",
    }
    assert {route.developer_id for route in plan(Severity.CRITICAL).routes} == {7}


def test_project_routing_overrides_the_matrix_per_severity() -> None:
    routing = {"critical": ["sms"], "low": ["email"]}
    assert channels(plan(Severity.CRITICAL, project_routing=routing).routes) == [Channel.SMS]
    assert channels(plan(Severity.LOW, project_routing=routing).routes) == [Channel.EMAIL]
    # Severities the project does not mention keep the defaults.
    assert sorted(channels(plan(Severity.HIGH, project_routing=routing).routes)) == sorted(
        [Channel.NTFY, Channel.EMAIL, Channel.SLACK]
    )


def test_a_broken_stored_routing_falls_back_to_the_defaults_and_says_so() -> None:
    result = plan(Severity.MEDIUM, project_routing={"medium": ["carrier-pigeon"]})
    assert channels(result.routes) == [Channel.SLACK]
    assert any("carrier-pigeon" in reason for reason in result.skipped)


@pytest.mark.parametrize(
    ("environment", "alert_environments", "alerts"),
    [
        ("production", ["production"], True),
        ("staging", ["production"], False),
        (None, ["production"], False),
        ("staging", None, True),
        ("production", [], False),  # an empty list: no environment alerts
    ],
)
def test_environment_filter(environment: str | None, alert_environments: list[str] | None, alerts: bool) -> None:
    result = plan(
        Severity.CRITICAL,
        environment=environment,
        alert_environments=alert_environments,
        webhook_urls=["http://hooks.example/errlog"],
    )
    assert bool(result.routes) is alerts
    if not alerts:
        assert "does not alert" in result.skipped[0]


def test_preferences_replace_the_personal_channels_but_not_the_teams() -> None:
    recipient = ana(channel_preferences={"critical": ["email"], "medium": ["ntfy", "slack"], "high": []})
    assert sorted(channels(plan(Severity.CRITICAL, recipient=recipient).routes)) == sorted(
        [Channel.EMAIL, Channel.SLACK, Channel.PAGERDUTY]
    )
    assert sorted(channels(plan(Severity.MEDIUM, recipient=recipient).routes)) == sorted([Channel.NTFY, Channel.SLACK])
    assert channels(plan(Severity.HIGH, recipient=recipient).routes) == [Channel.SLACK]


def test_a_channel_needs_a_target_and_configuration() -> None:
    recipient = ana(phone=None, ntfy_topic=None)
    result = plan(Severity.CRITICAL, recipient=recipient, configured={Channel.EMAIL, Channel.NTFY, Channel.SMS})
    assert channels(result.routes) == [Channel.EMAIL]
    assert "Ana has no phone number, so no sms" in result.skipped
    assert "Ana has no ntfy topic, so no ntfy" in result.skipped
    assert "slack is not configured" in result.skipped
    assert "pagerduty is not configured" in result.skipped


def test_slack_without_a_member_id_posts_to_the_channel() -> None:
    routes = plan(Severity.MEDIUM, recipient=ana(slack_id=None)).routes
    assert [(r.channel, r.target) for r in routes] == [(Channel.SLACK, "channel")]


def test_without_a_recipient_only_team_channels_and_webhooks_remain() -> None:
    result = plan(Severity.CRITICAL, recipient=None, webhook_urls=["http://a.example/hook"])
    assert sorted(channels(result.routes)) == sorted([Channel.SLACK, Channel.PAGERDUTY, Channel.WEBHOOK])
    assert all(route.developer_id is None for route in result.routes)
    assert any("nobody to page" in reason for reason in result.skipped)


def test_webhooks_get_every_alert_of_their_scope_once() -> None:
    result = plan(
        Severity.LOW, recipient=None, webhook_urls=["http://company.example/hook", "http://company.example/hook"]
    )
    assert [(r.channel, r.target) for r in result.routes] == [(Channel.WEBHOOK, "http://company.example/hook")]
    both = plan(Severity.LOW, webhook_urls=["http://company.example/hook", "http://team.example/hook"])
    assert [r.target for r in both.routes] == ["http://company.example/hook", "http://team.example/hook"]


BERLIN_NIGHT = ana(quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(7), timezone="Europe/Berlin")


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        ("2026-07-01T19:59", False),  # 21:59 CEST
        ("2026-07-01T20:00", True),  # 22:00 CEST
        ("2026-07-02T04:59", True),  # 06:59 CEST, past midnight
        ("2026-07-02T05:00", False),  # 07:00 CEST
        ("2026-01-15T21:30", True),  # 22:30 CET: winter time, an hour's difference from summer
        ("2026-01-15T20:30", False),  # 21:30 CET
    ],
)
def test_quiet_hours_are_local_wall_clock_times_across_midnight(utc: str, quiet: bool) -> None:
    now = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    assert in_quiet_hours(BERLIN_NIGHT, now) is quiet


def test_quiet_hours_within_a_day_and_none() -> None:
    lunch = ana(quiet_hours_start=dt.time(12), quiet_hours_end=dt.time(13))
    assert in_quiet_hours(lunch, NOON_UTC)
    assert not in_quiet_hours(lunch, NOON_UTC + dt.timedelta(hours=1))
    assert not in_quiet_hours(ana(), NOON_UTC)


def test_quiet_hours_suppress_personal_channels_but_critical_breaks_them() -> None:
    night = dt.datetime(2026, 7, 1, 23, 0, tzinfo=dt.UTC)  # 01:00 in Berlin
    high = plan(Severity.HIGH, recipient=BERLIN_NIGHT, now=night)
    held = {r.channel: r.suppressed for r in high.routes}
    assert held[Channel.NTFY] == held[Channel.EMAIL] == "quiet hours of Ana (22:00-07:00 Europe/Berlin)"
    assert held[Channel.SLACK] is None  # the team's channel is not the person's phone
    critical = plan(Severity.CRITICAL, recipient=BERLIN_NIGHT, now=night)
    assert all(route.suppressed is None for route in critical.routes)


def test_check_routing_accepts_good_tables_and_names_the_bad_part() -> None:
    assert check_routing({"critical": ["sms", "sms", "pagerduty"], "low": []}) == {
        "critical": ["sms", "pagerduty"],
        "low": [],
    }
    with pytest.raises(RoutingError, match="unknown severity 'urgent'"):
        check_routing({"urgent": ["sms"]})
    with pytest.raises(RoutingError, match=r"routing\['high'\]: unknown channel 'fax'"):
        check_routing({"high": ["fax"]})
    with pytest.raises(RoutingError, match="expected a list"):
        check_routing({"high": "sms"})
    with pytest.raises(RoutingError, match="unknown channel 'webhook'"):
        check_routing({"high": ["webhook"]})  # webhooks are integrations, configured by URL


def test_apprise_is_a_shared_channel_with_one_route_for_all_its_urls() -> None:
    with_apprise = ALL | {Channel.APPRISE}
    critical = plan(Severity.CRITICAL, configured=with_apprise, recipient=None)
    assert [(r.channel, r.target, r.developer_id) for r in critical.routes if r.channel == Channel.APPRISE] == [
        (Channel.APPRISE, "default", None)
    ]
    medium = plan(Severity.MEDIUM, configured=with_apprise)
    assert Channel.APPRISE not in channels(medium.routes)
    routed = plan(Severity.MEDIUM, configured=with_apprise, project_routing={"medium": ["apprise"]})
    assert channels(routed.routes) == [Channel.APPRISE]
    assert "apprise is not configured" in plan(Severity.HIGH).skipped
