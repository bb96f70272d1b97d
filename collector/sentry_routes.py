"""Sentry's ingest endpoints, so the official SDKs work unchanged: /api/<project>/envelope/ and /store/."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.routing import Route

from collector import fastjson
from collector.auth_header import AuthError, auth_timestamp, public_key_from_request
from collector.body import (
    MAX_COMPRESSED_REQUEST_SIZE,
    MAX_ENVELOPE_SIZE,
    MAX_EVENT_SIZE,
    BodyError,
    decode_legacy_store_body,
    read_body,
)
from collector.checkins import record_envelope_check_ins
from collector.envelope import (
    EnvelopeError,
    check_dsn_project,
    dsn_public_key,
    event_id_of,
    extract_event,
    parse_envelope,
)
from collector.ingest import Ingest
from collector.ingest_asgi import BrowserCors, IngestEndpoint, RawRequest
from collector.normalize import EventError, normalize_sentry_event
from collector.responses import Answer, IngestError, error_answer, json_answer
from db.enums import KeyKind


def _ingest(request: RawRequest) -> Ingest:
    ingest: Ingest = request.state.ingest
    return ingest


async def _body(request: RawRequest, max_decompressed: int) -> bytes:
    return await read_body(
        request.chunks(),
        request.headers.get("content-encoding"),
        max_compressed=MAX_COMPRESSED_REQUEST_SIZE,
        max_decompressed=max_decompressed,
        reserve=request.reserve,
    )


async def envelope_endpoint(request: RawRequest) -> Answer:
    received_at = dt.datetime.now(dt.UTC)
    project_id: int = request.path_params["project_id"]
    try:
        body = await _body(request, MAX_ENVELOPE_SIZE)
        envelope = parse_envelope(body, max_item_size=MAX_ENVELOPE_SIZE)
        check_dsn_project(envelope, project_id)
        presented = public_key_from_request(request.headers, request.query, dsn_public_key(envelope))
        ingest = _ingest(request)
        key = await ingest.authenticate(KeyKind.DSN, presented, project_id=project_id)
        contents = extract_event(envelope)
        if contents.check_ins:
            await record_envelope_check_ins(Request(request.scope), project_id, contents.check_ins)
        if contents.event is None:
            # Sessions, client reports, transactions...: accepted and not kept.
            header_id = envelope.headers.get("event_id")
            return json_answer({"id": header_id} if isinstance(header_id, str) else {})
        event_id = event_id_of(envelope, contents.event)
        await ingest.check_rate(key)
        event = normalize_sentry_event(
            contents.event,
            received_at=received_at,
            event_id=event_id,
            client_ip=request.client_ip,
            sent_at=envelope.headers.get("sent_at"),
        )
        await ingest.store(key, [event], source="sentry", size=len(body))
    except (BodyError, EnvelopeError, IngestError, AuthError, EventError) as exc:
        return _refusal(exc)
    except ClientDisconnect:
        return error_answer(400, "the client went away before sending the whole body")
    return json_answer({"id": event_id})


async def store_endpoint(request: RawRequest) -> Answer:
    """The pre-envelope endpoint older SDKs still use: the body is one JSON event."""
    received_at = dt.datetime.now(dt.UTC)
    project_id: int = request.path_params["project_id"]
    try:
        body = decode_legacy_store_body(await _body(request, MAX_EVENT_SIZE))
        presented = public_key_from_request(request.headers, request.query, None)
        ingest = _ingest(request)
        key = await ingest.authenticate(KeyKind.DSN, presented, project_id=project_id)
        raw = _json(body)
        await ingest.check_rate(key)
        event = normalize_sentry_event(
            raw, received_at=received_at, client_ip=request.client_ip, sent_at=auth_timestamp(request.headers)
        )
        await ingest.store(key, [event], source="sentry", size=len(body))
    except (BodyError, EnvelopeError, IngestError, AuthError, EventError) as exc:
        return _refusal(exc)
    except ClientDisconnect:
        return error_answer(400, "the client went away before sending the whole body")
    return json_answer({"id": event["event_id"]})


def _json(body: bytes) -> Any:
    try:
        return fastjson.loads(body, json.loads)
    except UnicodeDecodeError:
        raise EventError("event: body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise EventError(f"event: {fastjson.problem(exc)}") from None


def _refusal(exc: Exception) -> Answer:
    if isinstance(exc, BodyError | IngestError):
        return error_answer(exc.status, exc.reason, exc.headers)
    if isinstance(exc, EnvelopeError | AuthError):
        return error_answer(exc.status, exc.reason)
    return error_answer(400, str(exc))


# Browsers post cross-origin; these are the headers Sentry's browser SDKs send and read.
_CORS = BrowserCors(
    allow_methods=["POST", "OPTIONS"],
    allow_headers=[
        "x-sentry-auth",
        "x-requested-with",
        "origin",
        "accept",
        "content-type",
        "content-encoding",
        "authorization",
        "sentry-trace",
        "baggage",
    ],
    max_age=3600,
)

routes = [
    # OPTIONS is listed so that CORS preflights reach the endpoint's CORS handling instead of a 405.
    Route(
        "/api/{project_id:int}/envelope/",
        IngestEndpoint(envelope_endpoint, _CORS),
        methods=["POST", "OPTIONS"],
        name="envelope",
    ),
    Route(
        "/api/{project_id:int}/store/", IngestEndpoint(store_endpoint, _CORS), methods=["POST", "OPTIONS"], name="store"
    ),
]
