"""Push to phones through Pushover: the developer's user key, priority by severity (critical repeats until seen)."""

from __future__ import annotations

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryError, DeliveryResult, post
from tasks.messages import AlertMessage, short_text

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


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    if settings.pushover_token is None:
        raise DeliveryError("Pushover is not configured (ERRLOG_PUSHOVER_TOKEN)", transient=False)
    return post(
        settings.pushover_url + "/1/messages.json",
        data=form(notification, message, settings.pushover_token.get_secret_value()),
        timeout=settings.notification_timeout_seconds,
    )
