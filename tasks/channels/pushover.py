"""Push to phones through Pushover: the developer's user key; an alert with priority by severity (critical repeats
until seen), a notice as its title and text."""

from __future__ import annotations

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryError, DeliveryResult, post
from tasks.messages import AlertMessage, short_text
from tasks.notices import Notice, body_text, cut

# Pushover's -2 (no alert) .. 2 (emergency: repeats every `retry` seconds until acknowledged or `expire` passes).
PRIORITY = {"critical": 2, "high": 1, "medium": 0, "low": -1}
EMERGENCY_RETRY_SECONDS = 60
EMERGENCY_EXPIRE_SECONDS = 1800


def configured(settings: Settings) -> bool:
    return settings.pushover_token is not None


def form(notification: Notification, message: AlertMessage, token: str) -> dict[str, str]:
    priority = PRIORITY.get(message.severity, 0)
    fields = {
        "token": token,
        "user": notification.target,
        "title": f"{message.severity.upper()} {message.service}: {message.title}"[:250],
        "message": short_text(message, 1024),
        "priority": str(priority),
        "url": message.url,
        "url_title": f"Error {message.issue_id} in errlog",
        "timestamp": str(int(message.last_seen.timestamp())),
    }
    if priority == 2:
        fields["retry"] = str(EMERGENCY_RETRY_SECONDS)
        fields["expire"] = str(EMERGENCY_EXPIRE_SECONDS)
    return fields


def notice_form(notification: Notification, notice: Notice, token: str) -> dict[str, str]:
    return {
        "token": token,
        "user": notification.target,
        "title": cut(notice.title, 250),
        "message": cut(body_text(notice).rstrip("\n"), 1024),
    }


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    return push(form(notification, message, token(settings)), settings)


def send_notice(notification: Notification, notice: Notice, settings: Settings) -> DeliveryResult:
    return push(notice_form(notification, notice, token(settings)), settings)


def token(settings: Settings) -> str:
    if settings.pushover_token is None:
        raise DeliveryError("Pushover is not configured (ERRLOG_PUSHOVER_TOKEN)", transient=False)
    return settings.pushover_token.get_secret_value()


def push(fields: dict[str, str], settings: Settings) -> DeliveryResult:
    return post(settings.pushover_url + "/1/messages.json", data=fields, timeout=settings.notification_timeout_seconds)
