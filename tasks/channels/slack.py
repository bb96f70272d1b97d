"""Slack through an incoming webhook: an alert as Block Kit in an attachment coloured by severity, facts as fields,
a link; a notice as a header and one section block per section."""

from __future__ import annotations

from typing import Any

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryError, DeliveryResult, post
from tasks.messages import AlertMessage, facts, severity_colour, subject
from tasks.notices import Notice

# Slack takes 50 blocks a message: a notice's header, its intro, this many sections and a note of what was left out.
NOTICE_SECTIONS = 47


def configured(settings: Settings) -> bool:
    return settings.slack_webhook_url is not None


def _escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup (links, mentions); everything else is shown as written.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def payload(notification: Notification, message: AlertMessage) -> dict[str, Any]:
    mention = f" <{notification.target}>" if notification.target.startswith("@") else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(message.title, 150)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _cut(f"*{message.trigger_label}* in *{_escape(message.service)}*{mention}", 3000),
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{label}*\n{_escape(value)}", 2000)}
                for label, value in facts(message)[:10]  # Slack allows ten fields per section
            ],
        },
    ]
    if message.frames:
        trace = "\n".join(f"{where}\n    {source}" if source else where for where, source in message.frames)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"```{_escape(trace)}```", 3000)}})
    blocks += [
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Error {message.issue_id} · `{message.tui_command}`"}],
        },
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open in errlog"}, "url": message.url}
            ],
        },
    ]
    return {
        # The notification text on phones and in search; the blocks are what the channel shows.
        "text": _escape(subject(message)) + mention,
        "attachments": [{"color": severity_colour(message.severity), "blocks": blocks}],
    }


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    if settings.slack_webhook_url is None:
        raise DeliveryError("Slack is not configured (ERRLOG_SLACK_WEBHOOK_URL)", transient=False)
    return post(
        settings.slack_webhook_url.get_secret_value(),
        json=payload(notification, message),
        timeout=settings.notification_timeout_seconds,
    )


def notice_payload(notification: Notification, notice: Notice) -> dict[str, Any]:
    mention = f" <{notification.target}>" if notification.target.startswith("@") else ""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": _cut(notice.title, 150)}}]
    if notice.intro or mention:
        intro = _cut(_escape("\n".join(notice.intro)), 2900) + mention
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": intro.strip()}})
    for section in notice.sections[:NOTICE_SECTIONS]:
        lines = [f"• {_escape(line)}" for line in section.lines] or [f"_{_escape(section.empty)}_"]
        text = f"*{_escape(section.heading)}*\n" + "\n".join(lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, 3000)}})
    if len(notice.sections) > NOTICE_SECTIONS:
        left = f"{len(notice.sections) - NOTICE_SECTIONS} more section(s) in the e-mail version"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": left}]})
    return {"text": _escape(notice.title) + mention, "blocks": blocks}


def send_notice(notification: Notification, notice: Notice, settings: Settings) -> DeliveryResult:
    if settings.slack_webhook_url is None:
        raise DeliveryError("Slack is not configured (ERRLOG_SLACK_WEBHOOK_URL)", transient=False)
    return post(
        settings.slack_webhook_url.get_secret_value(),
        json=notice_payload(notification, notice),
        timeout=settings.notification_timeout_seconds,
    )
