"""JSON webhooks for services without a Sentry SDK: /api/error-logging/webhook/<kind>/ with a project token."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.body import MAX_COMPRESSED_REQUEST_SIZE, MAX_EVENT_SIZE, BodyError, read_body
from collector.ingest import Ingest
from collector.responses import IngestError, error_response
from collector.webhooks import KINDS, MAX_BATCH, WebhookPayloadError, normalize_webhook
from db.enums import KeyKind

# A batch holds up to MAX_BATCH errors of at most one event's size each.
MAX_WEBHOOK_BODY = MAX_BATCH * MAX_EVENT_SIZE


def webhook_token(request: Request) -> str | None:
    explicit = request.headers.get("x-errlog-token")
    if explicit:
        return explicit.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def webhook_endpoint(request: Request) -> Response:
    kind: str = request.path_params["kind"]
    if kind not in KINDS:
        return error_response(404, f"unknown webhook kind {kind!r}: use one of {', '.join(sorted(KINDS))}")
    received_at = dt.datetime.now(dt.UTC)
    ingest: Ingest = request.app.state.ingest
    try:
        token = webhook_token(request)
        if token is None:
            raise IngestError(
                401,
                "missing webhook token: send 'Authorization: Bearer <token>' or 'X-Errlog-Token: <token>'",
                {"WWW-Authenticate": 'Bearer realm="errlog webhook"'},
            )
        key = await ingest.authenticate(KeyKind.WEBHOOK, token)
        body = await read_body(
            request.stream(),
            request.headers.get("content-encoding"),
            max_compressed=MAX_COMPRESSED_REQUEST_SIZE,
            max_decompressed=MAX_WEBHOOK_BODY,
        )
        events = normalize_webhook(kind, _json(body), received_at=received_at)
        await ingest.check_rate(key, cost=max(len(events), 1))
        await ingest.store(key, events, source=f"webhook:{kind}", size=len(body) // max(len(events), 1))
    except (BodyError, IngestError) as exc:
        return error_response(exc.status, exc.reason, exc.headers)
    except WebhookPayloadError as exc:
        return error_response(exc.status, str(exc))
    except ClientDisconnect:
        return error_response(400, "the client went away before sending the whole body")
    return JSONResponse({"ids": [event["event_id"] for event in events]})


def _json(body: bytes) -> Any:
    if not body.strip():
        raise WebhookPayloadError("empty body: send a JSON object, or a list of objects for a batch")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise WebhookPayloadError("body is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise WebhookPayloadError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


routes = [Route("/api/error-logging/webhook/{kind}/", webhook_endpoint, methods=["POST"])]
