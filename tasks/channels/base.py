"""What every channel shares: the result of a send, transient vs permanent failures, and HTTP posting."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from errlog import __version__

USER_AGENT = f"errlog/{__version__}"
# 408 Request Timeout and 429 Too Many Requests are worth another try, like every 5xx; other 4xx are not.
TRANSIENT_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class DeliveryResult:
    """A message the service accepted: its status code (HTTP or SMTP) and what it said, e.g. a message id."""

    status_code: int | None = None
    detail: str | None = None


class DeliveryError(Exception):
    """A send that failed. `transient` failures are retried (at `retry_after` seconds when the service said so);
    permanent ones are not."""

    def __init__(
        self, message: str, *, transient: bool, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.status_code = status_code
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 section 10.2.3); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - (now or dt.datetime.now(dt.UTC))).total_seconds(), 0.0)


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_response(response: httpx.Response) -> DeliveryResult:
    """A 2xx as a result; anything else as a DeliveryError, transient for 5xx, 408 and 429."""
    code = response.status_code
    if 200 <= code < 300:
        return DeliveryResult(code, _snippet(response.text, 200) or None)
    detail = _snippet(response.text)
    message = f"HTTP {code} {response.reason_phrase}" + (f": {detail}" if detail else "")
    if code >= 500 or code in TRANSIENT_STATUS:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise DeliveryError(message, transient=True, status_code=code, retry_after=retry_after)
    raise DeliveryError(message, transient=False, status_code=code)


def post(
    url: str,
    *,
    timeout: float,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> DeliveryResult:
    """POST and classify the outcome: timeouts and connection failures are transient, a bad URL is permanent."""
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        with httpx.Client(timeout=timeout, auth=auth) as client:
            response = client.post(url, json=json, data=data, content=content, headers=all_headers)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"timed out after {timeout:g} s ({type(exc).__name__})", transient=True) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise DeliveryError(f"unusable URL: {exc}", transient=False) from None
    except httpx.TransportError as exc:  # refused, reset, DNS failure, TLS handshake, broken response...
        raise DeliveryError(f"{type(exc).__name__}: {exc}", transient=True) from None
    return check_response(response)
