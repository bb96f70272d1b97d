"""JSON webhooks for services without a Sentry SDK: /api/error-logging/webhook/<kind>/ with a project token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.routing import Route

from collector import fastjson
from collector.body import MAX_COMPRESSED_REQUEST_SIZE, MAX_EVENT_SIZE, BodyError, read_body
from collector.ingest import Ingest
from collector.ingest_asgi import IngestEndpoint, RawRequest
from collector.responses import Answer, IngestError, error_answer, json_answer
from collector.webhooks import KINDS, MAX_BATCH, WebhookPayloadError, normalize_webhook
from db.enums import KeyKind

# A batch holds up to MAX_BATCH errors of at most one event's size each.
MAX_WEBHOOK_BODY = MAX_BATCH * MAX_EVENT_SIZE


def webhook_token(headers: Mapping[str, str]) -> str | None:
    """The token of `X-Errlog-Token` or `Authorization: Bearer`; `headers` keyed by lowercase names."""
    explicit = headers.get("x-errlog-token")
    if explicit:
        return explicit.strip()
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def webhook_endpoint(request: RawRequest) -> Answer:
    kind: str = request.path_params["kind"]
    if kind not in KINDS:
        return error_answer(404, f"unknown webhook kind {kind!r}: use one of {', '.join(sorted(KINDS))}")
    received_at = dt.datetime.now(dt.UTC)
    ingest: Ingest = request.state.ingest
    try:
        token = webhook_token(request.headers)
        if token is None:
            raise IngestError(
                401,
                "missing webhook token: send 'Authorization: Bearer <token>' or 'X-Errlog-Token: <token>'",
                {"WWW-Authenticate": 'Bearer realm="errlog webhook"'},
            )
        key = await ingest.authenticate(KeyKind.WEBHOOK, token)
        body = await read_body(
            request.chunks(),
            request.headers.get("content-encoding"),
            max_compressed=MAX_COMPRESSED_REQUEST_SIZE,
            max_decompressed=MAX_WEBHOOK_BODY,
            reserve=request.reserve,
        )
        events = normalize_webhook(kind, _json(body), received_at=received_at)
        await ingest.check_rate(key, cost=max(len(events), 1))
        await ingest.store(key, events, source=f"webhook:{kind}", size=len(body) // max(len(events), 1))
    except (BodyError, IngestError) as exc:
        return error_answer(exc.status, exc.reason, exc.headers)
    except WebhookPayloadError as exc:
        return error_answer(exc.status, str(exc))
    except ClientDisconnect:
        return error_answer(400, "the client went away before sending the whole body")
    return json_answer({"ids": [event["event_id"] for event in events]})


def _json(body: bytes) -> Any:
    if not body.strip():
        raise WebhookPayloadError("empty body: send a JSON object, or a list of objects for a batch")
    try:
        return fastjson.loads(body, json.loads)
    except UnicodeDecodeError:
        raise WebhookPayloadError("body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise WebhookPayloadError(fastjson.problem(exc)) from None


routes = [
    Route("/api/error-logging/webhook/{kind}/", IngestEndpoint(webhook_endpoint), methods=["POST"], name="webhook")
]
