"""The channels' settings: blank means unset, bad URLs are named, and `errlog config` never shows a secret."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from db.enums import Channel
from errlog.cli import main
from errlog.settings import SettingsError, load_settings
from tasks.channels import configured_channels

SECRETS = {
    "ERRLOG_SMTP_URL": "smtp://ops:pw-smtp-123@mail.example.com:587?starttls=1",
    "ERRLOG_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/slack-secret-123",
    "ERRLOG_TWILIO_AUTH_TOKEN": "twilio-secret-123",
    "ERRLOG_NTFY_TOKEN": "tk_ntfy-secret-123",
    "ERRLOG_PUSHOVER_TOKEN": "pushover-secret-123",
    "ERRLOG_PAGERDUTY_ROUTING_KEY": "pagerduty-secret-123",
    "ERRLOG_WEBHOOK_URL": "https://hooks.example.com/errlog?token=webhook-secret-123",
    "ERRLOG_WEBHOOK_SECRET": "hmac-secret-123",
}


def test_errlog_config_masks_every_channel_secret() -> None:
    result = CliRunner().invoke(main, ["config", "--json"], env=SECRETS, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "secret-123" not in result.stdout
    rows = {row["setting"]: row for row in json.loads(result.stdout)["settings"]}
    assert rows["smtp_url"]["value"] == "smtp://ops:********@mail.example.com:587?starttls=1"  # which server: kept
    for name in SECRETS:
        assert rows[name.removeprefix("ERRLOG_").lower()]["source"] == "environment"


def test_blank_means_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.setenv(name, "")  # what docker compose passes for `ERRLOG_SMTP_URL: ${SMTP_URL:-}`
    settings = load_settings()
    assert settings.smtp_url is None and settings.slack_webhook_url is None and settings.webhook_secret is None
    # ntfy.sh needs no account and a webhook's URL is its target: only those remain usable.
    assert configured_channels(settings) == {Channel.NTFY, Channel.WEBHOOK}


def test_configured_channels_follow_the_credentials() -> None:
    settings = load_settings(
        smtp_url="smtp://mail.example.com",
        slack_webhook_url="https://hooks.slack.com/x",
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from="+15005550006",
        pushover_token="p",
        pagerduty_routing_key="k",
    )
    assert configured_channels(settings) == set(Channel) - {Channel.APPRISE}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ERRLOG_SMTP_URL", "mail.example.com:25", "ERRLOG_SMTP_URL: Value error, must be smtp://"),
        ("ERRLOG_NTFY_URL", "ntfy.example.com", "ERRLOG_NTFY_URL: Value error, must be an http"),
        ("ERRLOG_TWILIO_BASE_URL", "", "ERRLOG_TWILIO_BASE_URL"),
        ("ERRLOG_SLACK_WEBHOOK_URL", "hooks.slack.com/x", "ERRLOG_SLACK_WEBHOOK_URL"),
        ("ERRLOG_NOTIFICATION_TIMEOUT_SECONDS", "600", "ERRLOG_NOTIFICATION_TIMEOUT_SECONDS"),
        ("ERRLOG_NOTIFICATION_MAX_ATTEMPTS", "0", "ERRLOG_NOTIFICATION_MAX_ATTEMPTS"),
        ("ERRLOG_ALERT_COOLDOWN_MINUTES", "-1", "ERRLOG_ALERT_COOLDOWN_MINUTES"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_base_urls_lose_their_trailing_slash() -> None:
    assert load_settings(ntfy_url="http://127.0.0.1:8080/").ntfy_url == "http://127.0.0.1:8080"
