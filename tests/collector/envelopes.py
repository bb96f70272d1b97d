"""Factories for raw Sentry payloads as SDKs put them on the wire."""

from __future__ import annotations

import json
import uuid
from typing import Any


def make_event(message: str = "boom", **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "platform": "python",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": message,
                    "stacktrace": {
                        "frames": [
                            {"module": "shop.app", "function": "main", "lineno": 10, "in_app": True},
                            {"module": "shop.cart", "function": "checkout", "lineno": 42, "in_app": True},
                        ]
                    },
                }
            ]
        },
    }
    event.update(fields)
    return event


def make_envelope(
    event: dict[str, Any] | None = None,
    *,
    dsn: str | None = None,
    extra_items: list[tuple[dict, bytes]] = (),
    with_length: bool = True,
) -> bytes:
    header: dict[str, Any] = {}
    if event is not None and "event_id" in event:
        header["event_id"] = event["event_id"]
    if dsn:
        header["dsn"] = dsn
    lines = [json.dumps(header).encode()]
    items = list(extra_items)
    if event is not None:
        items.insert(0, ({"type": "event"}, json.dumps(event).encode()))
    for item_header, payload in items:
        item_header = dict(item_header)
        if with_length:
            item_header["length"] = len(payload)
        lines.append(json.dumps(item_header).encode())
        lines.append(payload)
    return b"\n".join(lines) + b"\n"


def auth_header(public_key: str) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_key={public_key}, sentry_version=7, sentry_client=errlog-tests/1.0"}


def key_of(dsn: str) -> str:
    return dsn.split("//", 1)[1].split("@", 1)[0]
