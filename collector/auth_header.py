"""Finding the DSN public key an ingest request authenticates with: X-Sentry-Auth, query string or envelope."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Public keys are tokens (Sentry's are 32 hex digits); anything else is a typo or an attack.
_PUBLIC_KEY = re.compile(r"[A-Za-z0-9._~-]{1,128}")


class AuthError(Exception):
    """Authentication that cannot be accepted: `status` is 400 (conflicting keys) or 403 (malformed key)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def parse_auth_header(value: str) -> dict[str, str]:
    """The pairs of `Sentry sentry_key=abc, sentry_version=7, ...`, keyed without the `sentry_` prefix.

    The `Sentry ` scheme is optional, pairs without `=` are ignored, spaces and quotes around values
    are dropped, and keys are lowercased: `{"key": "abc", "version": "7", ...}`.
    """
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    if scheme.lower() == "sentry":
        text = rest
    pairs: dict[str, str] = {}
    for part in text.split(","):
        name, sep, item = part.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        name = name.removeprefix("sentry_")
        pairs[name] = item.strip().strip('"')
    return pairs


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # Starlette's Headers match names case-insensitively; a plain dict needs the scan.
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _sentry_scheme(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _, rest = value.strip().partition(" ")
    return rest if scheme.lower() == "sentry" else None


def public_key_from_request(
    headers: Mapping[str, str],
    query: Mapping[str, str],
    envelope_dsn_key: str | None,
) -> str | None:
    """The public key the request authenticates with, or None if it names none.

    Looked for in `X-Sentry-Auth` (what SDKs send), `Authorization: Sentry ...` (older clients; Relay
    still reads it), the `sentry_key` query parameter (browser SDKs, which avoid CORS preflights) and
    the envelope's `dsn` header. `Authorization: Basic` or `Bearer` is not read: in front of errlog it
    is more likely a proxy's own credentials than a Sentry key. Raises `AuthError`: 400 when sources
    name different keys (the envelope spec says to reject a mismatch), 403 for a malformed key.
    """
    found: dict[str, str] = {}
    auth = _header(headers, "x-sentry-auth")
    if auth is not None:
        found["X-Sentry-Auth"] = parse_auth_header(auth).get("key", "")
    authorization = _sentry_scheme(_header(headers, "authorization"))
    if authorization is not None:
        found["Authorization"] = parse_auth_header(authorization).get("key", "")
    if query.get("sentry_key") is not None:
        found["sentry_key query parameter"] = query["sentry_key"]
    if envelope_dsn_key is not None:
        found["envelope dsn"] = envelope_dsn_key
    keys = {source: key.strip() for source, key in found.items() if key.strip()}
    for source, key in keys.items():
        if not _PUBLIC_KEY.fullmatch(key):
            raise AuthError(f"malformed public key in {source}", status=403)
    if len(set(keys.values())) > 1:
        named = ", ".join(f"{source} has {key!r}" for source, key in keys.items())
        raise AuthError(f"conflicting public keys: {named}")
    return next(iter(keys.values()), None)


def auth_timestamp(headers: Mapping[str, str]) -> str | None:
    """The `sentry_timestamp` of the request's Sentry auth header: when an SDK of the `/store/` era sent the request
    (epoch seconds), which envelopes carry as their `sent_at` header instead."""
    for value in (_header(headers, "x-sentry-auth"), _sentry_scheme(_header(headers, "authorization"))):
        if value is not None and (timestamp := parse_auth_header(value).get("timestamp")):
            return timestamp
    return None
