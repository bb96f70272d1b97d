"""Refuses requests whose headers are larger than any client of ours sends, before any handler runs."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

# Sentry SDKs send well under 8 KiB of headers; 32 KiB leaves room for proxies and cookies.
MAX_HEADER_BYTES = 32 * 1024


class HeaderLimitMiddleware:
    def __init__(self, app: ASGIApp, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) for name, value in scope["headers"])
            if size > self.max_header_bytes:
                reason = f"request headers of {size} bytes exceed {self.max_header_bytes} bytes"
                body = json.dumps({"detail": reason}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 431,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-sentry-error", reason.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
