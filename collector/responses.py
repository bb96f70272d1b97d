"""Error answers every endpoint gives the same way: JSON with the reason, and Sentry's X-Sentry-Error header.

Starlette endpoints answer with `error_response`; the ingest endpoints, pure ASGI apps on the hot path, build an
`Answer` (`json_answer`, `error_answer`): the same status, headers and JSON without a Response object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import JSONResponse
from starlette.types import Send

# Browser SDKs read these from cross-origin answers to back off.
EXPOSED_HEADERS = ["X-Sentry-Error", "X-Sentry-Rate-Limits", "Retry-After"]

_JSON_TYPE = (b"content-type", b"application/json")


class IngestError(Exception):
    """A request ingest refuses, with the status and the reason to send back."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


def _header_reason(reason: str) -> str:
    # Header values must be printable ASCII on one line (a control character, e.g. from a path the reason quotes,
    # makes the server drop the connection); the body carries the full reason.
    return "".join(c if " " <= c <= "~" else "?" for c in reason.replace("\n", " "))[:200]


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": reason}, status_code=status, headers={"X-Sentry-Error": _header_reason(reason), **(headers or {})}
    )


def unavailable(reason: str = "storage is unavailable, retry later", retry_after: int = 5) -> IngestError:
    return IngestError(503, reason, {"Retry-After": str(retry_after)})


@dataclass(frozen=True, slots=True)
class Answer:
    """An ingest endpoint's response: status, body and raw ASGI headers, sent by `send_answer`."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]


def json_answer(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    """`payload` as JSONResponse would send it: compact UTF-8 JSON, the given headers (lowercased names) first,
    then content-length and content-type."""
    body = orjson.dumps(payload)
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
    raw.append((b"content-length", str(len(body)).encode("latin-1")))
    raw.append(_JSON_TYPE)
    return Answer(status, body, raw)


def error_answer(status: int, reason: str, headers: dict[str, str] | None = None) -> Answer:
    """What `error_response` answers, as an `Answer`."""
    return json_answer({"detail": reason}, status, {"X-Sentry-Error": _header_reason(reason), **(headers or {})})


async def send_answer(send: Send, answer: Answer, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = answer.headers + extra_headers if extra_headers else answer.headers
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
