"""PagerDuty Events API v2: a trigger event deduplicated on the error id, so repeats update one incident; and the
acknowledge and resolve events that follow the error's state in errlog."""

from __future__ import annotations

from typing import Any

from db.models import Notification
from errlog.settings import Settings
from tasks.channels.base import DeliveryError, DeliveryResult, post
from tasks.messages import AlertMessage, facts, subject

# Incident updates by notification trigger: they name the incident by its dedup_key and carry nothing else.
UPDATE_ACTIONS = {"acknowledged": "acknowledge", "resolved": "resolve"}
# PagerDuty's four severities.
SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}


def configured(settings: Settings) -> bool:
    return settings.pagerduty_routing_key is not None


def dedup_key(issue_id: int) -> str:
    """The incident key: the error id, so acknowledge and resolve can name the same incident later."""
    return str(issue_id)


def event(message: AlertMessage, routing_key: str) -> dict[str, Any]:
    action = UPDATE_ACTIONS.get(message.trigger)
    if action is not None:
        return {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(message.issue_id)}
    details: dict[str, Any] = {label: value for label, value in facts(message)}
    details["Trigger"] = message.trigger_label
    details["Error id"] = message.issue_id
    details["Open it"] = message.tui_command
    if message.frames:
        details["Stack trace"] = [f"{where}: {source}" if source else where for where, source in message.frames]
    payload: dict[str, Any] = {
        "summary": subject(message)[:1024],
        "source": message.service,
        "severity": SEVERITY.get(message.severity, "error"),
        "timestamp": message.last_seen.isoformat(),
        "custom_details": details,
    }
    if message.environment:
        payload["group"] = message.environment
    if message.culprit:
        payload["component"] = message.culprit[:255]
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(message.issue_id),
        "payload": payload,
        "client": "errlog",
        "client_url": message.url,
        "links": [{"href": message.url, "text": f"Error {message.issue_id} in errlog"}],
    }


def send(notification: Notification, message: AlertMessage, settings: Settings) -> DeliveryResult:
    if settings.pagerduty_routing_key is None:
        raise DeliveryError("PagerDuty is not configured (ERRLOG_PAGERDUTY_ROUTING_KEY)", transient=False)
    return post(
        settings.pagerduty_url + "/v2/enqueue",
        json=event(message, settings.pagerduty_routing_key.get_secret_value()),
        timeout=settings.notification_timeout_seconds,
    )
