"""A notification and an alert message as the channels receive them, without a database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.enums import Channel
from db.models import Notification
from tasks.messages import AlertMessage


def make_notification(channel: Channel, target: str, **fields: Any) -> Notification:
    fields.setdefault("id", 5)
    fields.setdefault("idempotency_key", f"alert:42:new:abc:{channel.value}:0123456789abcdef")
    return Notification(channel=channel, target=target, trigger="new", **fields)


def make_message(**fields: Any) -> AlertMessage:
    values: dict[str, Any] = {
        "issue_id": 42,
        "trigger": "new",
        "title": "KeyError: 'sku'",
        "severity": "critical",
        "service": "checkout",
        "times_seen": 3,
        "users_affected": 2,
        "first_seen": dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC),
        "last_seen": dt.datetime(2026, 3, 10, 12, 30, tzinfo=dt.UTC),
        "url": "http://127.0.0.1:8000/api/error-logging/errors/42/",
        "environment": "production",
        "culprit": "cart.views in add_item",
        "event_id": "0123456789abcdef0123456789abcdef",
        "frames": (("cart/views.py:42 in add_item", "price = PRICES[sku]"),),
    }
    values.update(fields)
    return AlertMessage(**values)
