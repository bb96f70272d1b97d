"""Generic webhook: the alert as JSON, signed with HMAC-SHA256 so the receiver can tell it came from errlog."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryResult, post
from tasks.messages import AlertMessage

# Headers: X-Errlog-Timestamp (Unix seconds of this attempt), X-Errlog-Signature (lowercase hex HMAC-SHA256 keyed
# with ERRLOG_WEBHOOK_SECRET over the bytes `<timestamp>.<body>`; absent when no secret is set; receivers should
# also reject old timestamps, against replays) and X-Errlog-Delivery (the same on every retry of one notification:
# delivery is at least once, so a receiver dedupes on it).


def configured(settings: Settings) -> bool:
    return True  # the URL is the notification's target: the company's or the project's own


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def body(notification: Notification, message: AlertMessage) -> dict[str, Any]:
    return {
        "type": "errlog.alert",
        "version": 1,
        "notification_id": notification.id,
        "trigger": message.trigger,
        "error": {
            "id": message.issue_id,
            "title": message.title,
            "culprit": message.culprit,
            "severity": message.severity,
            "level": message.level,
            "service": message.service,
            "environment": message.environment,
            "release": message.release,
            "times_seen": message.times_seen,
            "users_affected": message.users_affected,
            "first_seen": message.first_seen.astimezone(dt.UTC).isoformat(),
            "last_seen": message.last_seen.astimezone(dt.UTC).isoformat(),
            "url": message.url,
            "tui_command": message.tui_command,
            "event_id": message.event_id,
            "frames": [{"where": where, "source": source} for where, source in message.frames],
        },
    }


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    content = json.dumps(body(notification, message), separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Errlog-Timestamp": timestamp,
        "X-Errlog-Delivery": notification.idempotency_key,
    }
    if settings.webhook_secret is not None:
        headers["X-Errlog-Signature"] = signature(settings.webhook_secret.get_secret_value(), timestamp, content)
    return post(notification.target, content=content, headers=headers, timeout=settings.notification_timeout_seconds)
