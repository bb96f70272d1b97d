"""The OpenAPI description of the routes under /api/error-logging/ outside the REST registry: webhooks, health.

They are plain Starlette routes with their own auth (a project's webhook token, or none), so they are described
here by hand; tests/collector/api/test_schema_conformance.py holds this description to the running routes."""

from __future__ import annotations

from typing import Any

from collector.api.inputs import EVENT_ID_PATTERN
from collector.webhooks import KINDS, LEVEL_ALIASES, MAX_BATCH
from db.enums import Severity

REF = "#/components/schemas/{model}"
NULLABLE_TEXT = {"type": ["string", "null"]}

SECURITY_SCHEMES: dict[str, Any] = {
    "webhookBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A project's webhook token (printed once by `errlog project create`).",
    },
    "webhookToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Errlog-Token",
        "description": "The same webhook token, for senders that cannot set Authorization.",
    },
}

SCHEMAS: dict[str, Any] = {
    "WebhookEvent": {
        "type": "object",
        "title": "WebhookEvent",
        "description": "One error as a service without a Sentry SDK reports it. Each kind also reads fields of its "
        "own (see docs/webhooks.md); snake_case or camelCase names; null counts as absent; unknown fields are "
        "ignored.",
        "properties": {
            "message": NULLABLE_TEXT,
            "level": {
                "enum": [*sorted(LEVEL_ALIASES), None],
                "description": "Sentry's levels or a logging library's name for one; case-insensitive.",
            },
            "severity": {"enum": [*(str(s) for s in Severity), None], "description": "errlog's paging severity."},
            "event_id": {
                "anyOf": [{"type": "string", "pattern": EVENT_ID_PATTERN}, {"type": "null"}],
                "description": "32 hex digits or a UUID; generated when absent.",
            },
            "timestamp": {
                "type": ["string", "number", "null"],
                "description": "ISO 8601, or Unix epoch seconds or milliseconds.",
            },
            "release": {"type": ["string", "number", "null"]},
            "environment": NULLABLE_TEXT,
            "server_name": NULLABLE_TEXT,
            "logger": NULLABLE_TEXT,
            "transaction": NULLABLE_TEXT,
            "service": {**NULLABLE_TEXT, "description": "Stored as the tag `service`."},
            "user": {"type": ["object", "string", "null"]},
            "url": NULLABLE_TEXT,
            "method": NULLABLE_TEXT,
            "user_agent": NULLABLE_TEXT,
            "tags": {"type": ["object", "null"], "description": "Values: strings, numbers or booleans."},
            "extra": {"type": ["object", "null"]},
            "fingerprint": {"type": ["array", "null"], "items": {"type": "string"}},
            "breadcrumbs": {"type": ["array", "null"], "items": {"type": "object"}},
            "handled": {"type": ["boolean", "null"]},
        },
    },
    "WebhookAccepted": {
        "type": "object",
        "title": "WebhookAccepted",
        "required": ["ids"],
        "properties": {
            "ids": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "description": "The stored event ids, one per item in request order.",
            }
        },
    },
    "Liveness": {
        "type": "object",
        "title": "Liveness",
        "required": ["status", "version"],
        "properties": {"status": {"const": "ok"}, "version": {"type": "string"}},
    },
    "Readiness": {
        "type": "object",
        "title": "Readiness",
        "required": ["status", "checks"],
        "properties": {
            "status": {"enum": ["ready", "unavailable"]},
            "checks": {
                "type": "object",
                "description": "database, ingest, and redis and archive when configured.",
                "additionalProperties": {
                    "type": "object",
                    "required": ["ok"],
                    "properties": {
                        "ok": {"type": "boolean"},
                        "latency_ms": {"type": "number"},
                        "error": {"type": "string"},
                        "pending": {"type": "integer"},
                    },
                },
            },
        },
    },
}


EXAMPLE_EVENT = {
    "message": "Division by zero",
    "level": "error",
    "environment": "production",
    "release": "shop@2024.03.01",
    "tags": {"team": "checkout"},
}


def _json(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model)}}}


def _answer(description: str, model: str = "ErrorBody", **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": _json(model), **extra}


def _webhook() -> dict[str, Any]:
    event = {"$ref": REF.format(model="WebhookEvent")}
    retry = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait before retrying."}}
    return {
        "operationId": "send_webhook",
        "summary": "Report errors from a service without a Sentry SDK",
        "description": f"One event (an object) or a batch (a list of 1 to {MAX_BATCH} objects), all or nothing. "
        "A 200 means the events are committed. See docs/webhooks.md for each kind's fields.",
        "tags": ["webhooks"],
        "security": [{"webhookBearer": []}, {"webhookToken": []}],
        "x-errlog-role": "webhook token",
        "parameters": [
            {"name": "kind", "in": "path", "required": True, "schema": {"enum": sorted(KINDS)}},
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            event,
                            {"type": "array", "items": event, "minItems": 1, "maxItems": MAX_BATCH},
                        ]
                    },
                    "examples": {
                        "event": {"value": EXAMPLE_EVENT},
                        "batch": {"value": [EXAMPLE_EVENT, {"message": "disk almost full", "level": "warning"}]},
                    },
                }
            },
        },
        "responses": {
            "200": _answer("Stored and committed.", "WebhookAccepted"),
            "400": _answer("The JSON or a field is wrong; the reason names the item and field."),
            "401": _answer("No token was sent."),
            "403": _answer("The token is unknown or revoked."),
            "404": _answer("No such webhook kind."),
            "413": _answer(
                f"The body is too large, the batch has over {MAX_BATCH} items, or more than the rate limit lets "
                "through at once."
            ),
            "415": _answer("An unsupported Content-Encoding."),
            "429": _answer("A rate limit is exhausted.", headers=retry),
            "503": _answer(
                "Storage is down or overloaded, or the collector is reading too many large bodies at once; nothing "
                "was stored.",
                headers=retry,
            ),
        },
    }


def static_paths() -> dict[str, dict[str, Any]]:
    return {
        "/api/error-logging/webhook/{kind}/": {"post": _webhook()},
        "/api/error-logging/webhook/health/": {
            "get": {
                "operationId": "webhook_health",
                "summary": "Liveness: the collector process answers",
                "tags": ["health"],
                "security": [],
                "x-errlog-role": "none",
                "responses": {"200": _answer("The process serves requests.", "Liveness")},
            }
        },
        "/api/error-logging/ready/": {
            "get": {
                "operationId": "readiness",
                "summary": "Readiness: the database (and Redis, the archive) answer and ingest has room",
                "tags": ["health"],
                "security": [],
                "x-errlog-role": "none",
                "responses": {
                    "200": _answer("Every check passed.", "Readiness"),
                    "503": _answer("A check failed; it says which.", "Readiness"),
                },
            }
        },
    }
