"""A fixed REST API for snapshots: the same answers at the same clock every run, served through httpx's
MockTransport (the real client, models and screens run; only the server is canned)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import httpx

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
PREFIX = "/api/error-logging"


def at(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).isoformat()


def developer(i: int, name: str) -> dict[str, Any]:
    return {"id": i, "name": name, "email": f"{name.split()[0].lower()}@example.com"}


ANA, BEN, CHEN, DANA = (
    developer(1, "Ana Lima"),
    developer(2, "Ben Okafor"),
    developer(3, "Chen Wei"),
    developer(4, "Dana Kowalski"),
)


def error(
    i: int,
    title: str,
    service: str,
    severity: str,
    *,
    seen: dict[str, float],
    events: int,
    users: int,
    assignee: dict[str, Any] | None = None,
    status: str = "unresolved",
    substatus: str | None = "ongoing",
    escalation: int = 0,
    regression: bool = False,
    spark: list[int] | None = None,
) -> dict[str, Any]:
    return {
        "id": i,
        "project_id": 1,
        "service": service,
        "title": title,
        "culprit": None,
        "exception_type": title.split(":")[0],
        "platform": "python",
        "severity": severity,
        "status": status,
        "substatus": substatus,
        "first_seen": at(days=2),
        "last_seen": at(**seen),
        "times_seen": events,
        "users_affected": users,
        "first_release": "2.14.0",
        "last_release": "2.14.1",
        "environment": "production",
        "assignee": assignee,
        "assigned_at": at(hours=1) if assignee else None,
        "acknowledged_at": at(minutes=30) if status == "acknowledged" else None,
        "acknowledged_by": assignee["name"] if status == "acknowledged" and assignee else None,
        "resolved_at": None,
        "resolved_in_release": None,
        "resolved_in_next_release": False,
        "is_regression": regression,
        "escalation_level": escalation,
        "snooze_until": None,
        "snooze_event_limit": None,
        "snooze_user_limit": None,
        "impact_score": float(events * users),
        "updated_at": at(**seen),
        "sparkline": spark if spark is not None else [0] * 24,
    }


ERRORS = [
    error(
        101,
        'OperationalError: connection to server at "db.internal" failed: timeout expired',
        "billing-worker",
        "critical",
        seen={"seconds": 40},
        events=1432,
        users=1,
        spark=[0] * 18 + [3, 9, 20, 41, 60, 75],
    ),
    error(
        102,
        "GatewayException: charge failed: gateway did not answer",
        "payments",
        "critical",
        seen={"minutes": 3},
        events=217,
        users=150,
        assignee=DANA,
        escalation=2,
        spark=[2, 1, 0, 3, 2, 4, 1, 0, 2, 5, 8, 3] * 2,
    ),
    error(
        103,
        "Illuminate\\Database\\QueryException: SQLSTATE[40001]: Deadlock found",
        "shop-api",
        "critical",
        seen={"minutes": 12},
        events=88,
        users=61,
        assignee=ANA,
        status="acknowledged",
        spark=[1, 0, 0, 2, 1, 0, 0, 0, 3, 1, 0, 2] * 2,
    ),
    error(
        104,
        "TypeError: Cannot read properties of undefined (reading 'map')",
        "storefront",
        "high",
        seen={"minutes": 1},
        events=3810,
        users=2204,
        assignee=CHEN,
        spark=list(range(24)),
    ),
    error(
        105,
        "InvoiceRenderError: invoice 88213 could not be rendered",
        "billing-worker",
        "high",
        seen={"hours": 2},
        events=9,
        users=6,
        substatus="regressed",
        regression=True,
    ),
    error(
        106,
        "SocketException: Failed host lookup: 'api.shop.example'",
        "mobile-app",
        "medium",
        seen={"hours": 5},
        events=19,
        users=14,
        substatus="new",
        spark=[0, 0, 1] * 8,
    ),
]

FRAMES = [
    {
        "filename": "billing/jobs.py",
        "function": "charge_subscriptions",
        "lineno": 88,
        "in_app": True,
        "pre_context": ["    for batch in chunks(due, 100):"],
        "context_line": "        with connect() as conn:",
        "post_context": ["            charge_batch(conn, batch)"],
        "vars": {"batch_size": "100"},
    },
    {
        "filename": "billing/db.py",
        "function": "connect",
        "lineno": 21,
        "in_app": True,
        "pre_context": ["def connect():", "    return psycopg.connect("],
        "context_line": "        settings.DATABASE_URL, connect_timeout=5",
        "post_context": ["    )"],
    },
    {"filename": "psycopg/connection.py", "function": "connect", "lineno": 748, "in_app": False},
    {"filename": "psycopg/conninfo.py", "function": "resolve", "lineno": 301, "in_app": False},
]

EVENT = {
    "event_id": "a" * 32,
    "project_id": 1,
    "issue_id": 101,
    "timestamp": at(seconds=40),
    "received_at": at(seconds=40),
    "level": "fatal",
    "severity": "critical",
    "environment": "production",
    "release": "2.14.1",
    "platform": "python",
    "message": None,
    "user_key": None,
    "tags": {"queue": "billing"},
    "service": "billing-worker",
    "source": "sentry",
    "size_bytes": 2048,
    "payload_archived": False,
    "payload": {
        "exception": {
            "values": [
                {
                    "type": "OperationalError",
                    "value": 'connection to server at "db.internal" failed: timeout expired',
                    "mechanism": {"type": "logging", "handled": False},
                    "stacktrace": {"frames": FRAMES},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {"timestamp": at(seconds=50), "category": "job", "message": "charge_subscriptions started"},
                {
                    "timestamp": at(seconds=45),
                    "category": "db",
                    "message": "connection attempt 1 timed out",
                    "level": "warning",
                },
                {
                    "timestamp": at(seconds=41),
                    "category": "db",
                    "message": "connection attempt 2 timed out",
                    "level": "error",
                },
            ]
        },
        "contexts": {"runtime": {"name": "CPython", "version": "3.12.3"}, "os": {"name": "Linux"}},
        "user": {"id": "system"},
    },
}

DETAIL = {
    **ERRORS[0],
    "culprit": "billing.db in connect",
    "latest_event": EVENT,
    "tags": [
        {
            "key": "environment",
            "total": 200,
            "values": [
                {"value": "production", "count": 180, "share": 0.9},
                {"value": "staging", "count": 20, "share": 0.1},
            ],
        },
        {"key": "region", "total": 200, "values": [{"value": "eu-west-1", "count": 200, "share": 1.0}]},
    ],
    "tags_sampled_events": 200,
    "histogram_24h": {"start": at(hours=24), "interval_seconds": 3600, "counts": ERRORS[0]["sparkline"]},
    "histogram_30d": {"start": at(days=30), "interval_seconds": 86400, "counts": [0] * 28 + [40, 1392]},
    "timeline": [
        {"at": at(days=2), "kind": "first_seen", "actor": None, "summary": "first seen in billing-worker"},
        {
            "at": at(minutes=1),
            "kind": "notification",
            "actor": "system",
            "summary": "slack to channel (new): dead after 3 attempt(s)",
            "notification": {"status": "dead", "last_error": "ConnectError: connection refused"},
        },
        {
            "at": at(seconds=30),
            "kind": "notification",
            "actor": "system",
            "summary": "ntfy to ben-oncall (new): sent",
            "notification": {"status": "sent"},
        },
    ],
    "timeline_truncated": False,
    "next_escalation": {
        "chain": "default",
        "step": 1,
        "level": 2,
        "condition": "unacknowledged",
        "after_minutes": 15,
        "due_at": (NOW + dt.timedelta(minutes=12)).isoformat(),
        "reason": "unacknowledged for 15 min (step 1 of chain 'default')",
    },
}

EVENTS = {
    "items": [
        {k: v for k, v in EVENT.items() if k not in ("payload", "service", "source", "size_bytes", "payload_archived")}
    ],
    "next_cursor": None,
}

COUNTS = {
    "total": 9,
    "open": 6,
    "unacknowledged": 5,
    "by_status": {"unresolved": 5, "acknowledged": 1, "resolved": 2, "ignored": 1},
    "by_severity": {"critical": 3, "high": 2, "medium": 1, "low": 0},
    "unacknowledged_by_severity": {"critical": 2, "high": 2, "medium": 1, "low": 0},
}

HOURLY = [3, 5, 4, 6, 2, 1, 0, 1, 4, 9, 14, 22, 30, 28, 25, 31, 40, 38, 35, 44, 61, 90, 130, 171]
STATS = {
    "window": "24h",
    "interval": "hour",
    "start": at(hours=24),
    "end": NOW.isoformat(),
    "by_status": COUNTS["by_status"],
    "by_severity": COUNTS["by_severity"],
    "by_service": [
        {"project_id": 1, "service": "storefront", "open_errors": 1, "events": 420},
        {"project_id": 2, "service": "billing-worker", "open_errors": 2, "events": 301},
        {"project_id": 3, "service": "payments", "open_errors": 1, "events": 55},
    ],
    "total_events": sum(HOURLY),
    "events": {"start": at(hours=24), "interval_seconds": 3600, "counts": HOURLY},
    "events_by_severity": {
        "critical": [h // 3 for h in HOURLY],
        "high": [h // 2 for h in HOURLY],
        "medium": [h // 6 for h in HOURLY],
        "low": [1 if h > 20 else 0 for h in HOURLY],
    },
    "top_errors": [
        {"error": ERRORS[3], "events": 420},
        {"error": ERRORS[0], "events": 301},
        {"error": ERRORS[1], "events": 55},
    ],
    "mtta_seconds": 754.0,
    "acknowledged": 4,
    "mttr_seconds": 11_520.0,
    "resolved": 2,
}

PATTERNS = {
    "items": [
        {
            "id": 1,
            "kind": "spike",
            "project_id": 2,
            "service": "billing-worker",
            "error_id": 101,
            "error_title": ERRORS[0]["title"],
            "error_severity": "critical",
            "correlated_error_ids": [],
            "description": "75 events in the last hour, 25x the usual rate of 3 an hour",
            "score": 25.0,
            "window_start": at(hours=1),
            "window_end": NOW.isoformat(),
            "is_active": True,
            "detected_at": at(minutes=4),
        },
        {
            "id": 2,
            "kind": "regression",
            "project_id": 2,
            "service": "billing-worker",
            "error_id": 105,
            "error_title": ERRORS[4]["title"],
            "error_severity": "high",
            "correlated_error_ids": [],
            "description": "resolved 3 days ago, back in release 2.14.1",
            "score": 8.0,
            "window_start": None,
            "window_end": None,
            "is_active": True,
            "detected_at": at(hours=2),
        },
        {
            "id": 3,
            "kind": "correlated",
            "project_id": None,
            "service": None,
            "error_id": 102,
            "error_title": ERRORS[1]["title"],
            "error_severity": "critical",
            "correlated_error_ids": [103],
            "description": "GatewayException and the checkout deadlock rise together (r=0.93 over 6 hours)",
            "score": 5.5,
            "window_start": at(hours=6),
            "window_end": NOW.isoformat(),
            "is_active": True,
            "detected_at": at(minutes=20),
        },
    ],
    "next_cursor": None,
}


def workload(dev: dict[str, Any], counts: list[int], unack: int, levels: list[int], next_shift: str | None) -> dict:
    keys = ("critical", "high", "medium", "low")
    return {
        "developer": dev,
        "open_assigned": sum(counts),
        "open_by_severity": dict(zip(keys, counts, strict=True)),
        "unacknowledged": unack,
        "oldest_open": {"error_id": 103, "title": "Deadlock", "severity": "critical", "since": at(hours=3)}
        if sum(counts)
        else None,
        "on_call_now": bool(levels),
        "on_call_levels": levels,
        "on_call": [],
        "next_shift_start": next_shift,
    }


WORKLOAD = [
    workload(ANA, [1, 2, 0, 1], 1, [1], None),
    workload(BEN, [0, 0, 1, 0], 0, [], at(hours=-9)),
    workload(CHEN, [0, 1, 0, 0], 1, [], at(days=-2)),
    workload(DANA, [1, 0, 0, 0], 0, [2], None),
]


def level(n: int, now: dict[str, Any], until: dict[str, float], then: dict[str, Any]) -> dict[str, Any]:
    shift = {"developer": now, "starts_at": at(hours=3), "ends_at": at(**until), "source": "rotation"}
    following = {"developer": then, "starts_at": at(**until), "ends_at": at(hours=-24), "source": "rotation"}
    return {"level": n, "schedule_id": n, "schedule_name": "on-call", "on_call": shift, "next": following}


ONCALL = [
    {
        "scope": "project",
        "project_id": 2,
        "project_name": "billing-worker",
        "team_id": None,
        "team_name": None,
        "levels": [level(1, ANA, {"hours": -9}, BEN), level(2, DANA, {"days": -3}, CHEN)],
    },
    {
        "scope": "project",
        "project_id": 3,
        "project_name": "payments",
        "team_id": None,
        "team_name": None,
        "levels": [level(1, ANA, {"hours": -9}, CHEN)],
    },
]


def notification(i: int, channel: str, target: str, status: str, tries: int, err: str | None, ago: float) -> dict:
    return {
        "id": i,
        "error_id": 101,
        "error_title": ERRORS[0]["title"],
        "project_id": 2,
        "developer": BEN,
        "channel": channel,
        "target": target,
        "trigger": "new",
        "status": status,
        "attempts": tries,
        "max_attempts": 3,
        "last_status_code": 503 if err else None,
        "last_error": err,
        "next_attempt_at": at(minutes=ago - 1) if status == "failed" else None,
        "created_at": at(minutes=ago),
        "sent_at": at(minutes=ago) if status == "sent" else None,
    }


NOTIFICATIONS = {
    "items": [
        notification(5, "slack", "#oncall", "dead", 3, "upstream unavailable", 1),
        notification(4, "ntfy", "ben-oncall", "sent", 1, None, 1),
        notification(3, "sms", "+4915123456789", "failed", 1, "rate limited by carrier", 2),
        notification(2, "email", "ben@example.com", "suppressed", 0, None, 3),
        notification(1, "pagerduty", "billing service", "pending", 0, None, 3),
    ],
    "next_cursor": None,
}

# One window on now (the queue's maintenance note), one planned for later (not shown).
MAINTENANCE_WINDOWS = [
    {
        "id": 3,
        "project_id": 2,
        "project": "checkout",
        "query": None,
        "starts_at": at(minutes=20),
        "ends_at": (NOW + dt.timedelta(hours=2)).isoformat(),
        "reason": "DB migration",
        "active": True,
    },
    {
        "id": 4,
        "project_id": None,
        "project": None,
        "query": "level:low",
        "starts_at": (NOW + dt.timedelta(days=1)).isoformat(),
        "ends_at": (NOW + dt.timedelta(days=1, hours=1)).isoformat(),
        "reason": "provider maintenance",
        "active": False,
    },
]

EMPTY_PAGE = {"items": [], "next_cursor": None, "server_time": NOW.isoformat()}

ROUTES: dict[str, Any] = {
    "/errors/": {"items": ERRORS, "next_cursor": None, "server_time": NOW.isoformat()},
    "/errors/counts/": COUNTS,
    "/errors/stats/": STATS,
    "/errors/101/": DETAIL,
    "/errors/101/events/": EVENTS,
    f"/events/{'a' * 32}/": EVENT,
    "/patterns/": PATTERNS,
    "/developers/workload/": WORKLOAD,
    "/oncall/": ONCALL,
    "/notifications/": NOTIFICATIONS,
    "/maintenance-windows/": MAINTENANCE_WINDOWS,
}


def answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path.removeprefix(PREFIX)
    if request.method != "GET":
        return httpx.Response(403, json={"detail": "the snapshot API is read-only"})
    if path == "/errors/" and "changed_since" in request.url.params:
        return httpx.Response(200, json=EMPTY_PAGE)
    if path in ROUTES:
        return httpx.Response(
            200, content=json.dumps(ROUTES[path]).encode(), headers={"content-type": "application/json"}
        )
    if re.fullmatch(r"/errors/\d+/(events/)?", path):
        return httpx.Response(404, json={"detail": "no error with that id in the snapshot data"})
    return httpx.Response(404, json={"detail": f"no route {path}"})


def transport() -> httpx.MockTransport:
    return httpx.MockTransport(answer)
