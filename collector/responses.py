"""Error answers every endpoint gives the same way: JSON with the reason, and Sentry's X-Sentry-Error header."""

from __future__ import annotations

from starlette.responses import JSONResponse

# Browser SDKs read these from cross-origin answers to back off.
EXPOSED_HEADERS = ["X-Sentry-Error", "X-Sentry-Rate-Limits", "Retry-After"]


class IngestError(Exception):
    """A request ingest refuses, with the status and the reason to send back."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    # Header values must be printable ASCII on one line (a control character, e.g. from a path the reason quotes,
    # makes the server drop the connection); the body carries the full reason.
    header_reason = "".join(c if " " <= c <= "~" else "?" for c in reason.replace("\n", " "))[:200]
    return JSONResponse(
        {"detail": reason}, status_code=status, headers={"X-Sentry-Error": header_reason, **(headers or {})}
    )


def unavailable(reason: str = "storage is unavailable, retry later", retry_after: int = 5) -> IngestError:
    return IngestError(503, reason, {"Retry-After": str(retry_after)})
