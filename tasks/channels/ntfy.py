"""Push to phones through ntfy: published as JSON to the developer's topic; an alert with priority and tags by
severity, a notice as its title and text."""

from __future__ import annotations

from typing import Any

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryResult, post
from tasks.messages import AlertMessage
from tasks.notices import Notice, body_text, cut

# ntfy's 1 (min) .. 5 (max, long vibration bursts, pop-over).
PRIORITY = {"critical": 5, "high": 4, "medium": 3, "low": 2}
# Emoji short codes ntfy shows before the title.
TAGS = {"critical": "rotating_light", "high": "warning", "medium": "large_orange_diamond", "low": "information_source"}
NOTICE_TAG = "memo"
# ntfy turns a longer message into an attachment, or refuses it on a server that keeps none.
MESSAGE_BYTES = 4096


def configured(settings: Settings) -> bool:
    return True  # ntfy.sh needs no account; a developer's topic is their address


def payload(notification: Notification, message: AlertMessage) -> dict[str, Any]:
    env = f" ({message.environment})" if message.environment else ""
    lines = [
        f"{message.trigger_label} in {message.service}{env}",
        f"{message.times_seen:,} events, {message.users_affected:,} users",
    ]
    if message.note:
        lines.insert(1, message.note)
    if message.frames:
        lines.append(message.frames[-1][0])  # where it broke
    lines.append(message.tui_command)
    tags = [TAGS.get(message.severity, "warning"), message.severity]
    if message.environment:
        tags.append(message.environment)
    return {
        "topic": notification.target,
        "title": f"{message.severity.upper()} {message.service}: {message.title}"[:250],
        "message": "\n".join(lines),
        "priority": PRIORITY.get(message.severity, 3),
        "tags": tags,
        "click": message.url,
    }


def notice_payload(notification: Notification, notice: Notice) -> dict[str, Any]:
    return {
        "topic": notification.target,
        "title": cut(notice.title, 250),
        "message": fit_bytes(body_text(notice).rstrip("\n"), MESSAGE_BYTES),
        "tags": [NOTICE_TAG],
    }


def fit_bytes(text: str, limit: int) -> str:
    """`text` cut so that its UTF-8 takes at most `limit` bytes, never inside a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    return publish(payload(notification, message), settings)


def send_notice(notification: Notification, notice: Notice, settings: Settings) -> DeliveryResult:
    return publish(notice_payload(notification, notice), settings)


def publish(body: dict[str, Any], settings: Settings) -> DeliveryResult:
    headers = {}
    if settings.ntfy_token is not None:
        headers["Authorization"] = f"Bearer {settings.ntfy_token.get_secret_value()}"
    # JSON publishing goes to the server's root, so titles need no header encoding.
    return post(settings.ntfy_url + "/", json=body, headers=headers, timeout=settings.notification_timeout_seconds)
