"""Finding the public key of an ingest request: X-Sentry-Auth, Authorization, query string, envelope dsn."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers, QueryParams

from collector.auth_header import AuthError, parse_auth_header, public_key_from_request

KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            f"Sentry sentry_key={KEY}, sentry_version=7, sentry_client=sentry.python/2.0",
            {"key": KEY, "version": "7", "client": "sentry.python/2.0"},
        ),
        (f"sentry_key={KEY},sentry_version=7", {"key": KEY, "version": "7"}),  # no "Sentry " scheme
        (f"  SENTRY   sentry_key = {KEY} ,  sentry_version=7 ", {"key": KEY, "version": "7"}),
        (f'Sentry sentry_key="{KEY}"', {"key": KEY}),
        (f"Sentry sentry_key={KEY}, sentry_secret=s3cr3t", {"key": KEY, "secret": "s3cr3t"}),
        (f"Sentry Sentry_Key={KEY}", {"key": KEY}),
        (f"Sentry key={KEY}", {"key": KEY}),
        (f"Sentry sentry_key={KEY}, garbage, =novalue, sentry_timestamp=1", {"key": KEY, "timestamp": "1"}),
        ("Sentry ", {}),
        ("", {}),
    ],
)
def test_parse_auth_header(value: str, expected: dict[str, str]) -> None:
    assert parse_auth_header(value) == expected


@pytest.mark.parametrize(
    ("headers", "query", "dsn_key"),
    [
        ({"X-Sentry-Auth": f"Sentry sentry_key={KEY}, sentry_version=7"}, {}, None),
        ({"x-sentry-auth": f"Sentry sentry_key={KEY}, sentry_version=7"}, {}, None),
        ({"X-SENTRY-AUTH": f"sentry_key={KEY}"}, {}, None),
        ({"Authorization": f"Sentry sentry_key={KEY}, sentry_version=7"}, {}, None),
        ({}, {"sentry_key": KEY, "sentry_version": "7"}, None),
        ({}, {}, KEY),
        # The same key in several places is fine.
        ({"X-Sentry-Auth": f"Sentry sentry_key={KEY}"}, {"sentry_key": KEY}, KEY),
        # A proxy's own credentials are not a Sentry key.
        ({"Authorization": "Bearer proxy-token", "X-Sentry-Auth": f"Sentry sentry_key={KEY}"}, {}, None),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, {"sentry_key": KEY}, None),
        # An auth header without a key leaves the key to the other sources.
        ({"X-Sentry-Auth": "Sentry sentry_version=7, sentry_client=raven-js/3.0"}, {"sentry_key": KEY}, None),
        ({}, {"sentry_key": f"  {KEY} "}, None),
    ],
)
def test_public_key_is_found(headers: dict[str, str], query: dict[str, str], dsn_key: str | None) -> None:
    assert public_key_from_request(headers, query, dsn_key) == KEY


def test_starlette_headers_and_query_params_work() -> None:
    headers = Headers(raw=[(b"x-sentry-auth", f"Sentry sentry_key={KEY}".encode())])
    assert public_key_from_request(headers, QueryParams(""), None) == KEY
    assert public_key_from_request(Headers(), QueryParams(f"sentry_key={KEY}&sentry_version=7"), None) == KEY


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, {}),
        ({"Authorization": "Bearer abc"}, {}),
        ({"X-Sentry-Auth": "Sentry sentry_version=7"}, {}),
        ({"X-Sentry-Auth": "Sentry sentry_key="}, {"sentry_key": ""}),
        ({}, {"key": KEY}),  # only `sentry_key` counts in a query string
    ],
)
def test_no_public_key_gives_none(headers: dict[str, str], query: dict[str, str]) -> None:
    assert public_key_from_request(headers, query, None) is None


@pytest.mark.parametrize(
    ("headers", "query", "dsn_key", "reason"),
    [
        (
            {"X-Sentry-Auth": f"Sentry sentry_key={KEY}"},
            {"sentry_key": OTHER_KEY},
            None,
            f"conflicting public keys: X-Sentry-Auth has {KEY!r}, sentry_key query parameter has {OTHER_KEY!r}",
        ),
        (
            {"X-Sentry-Auth": f"Sentry sentry_key={KEY}"},
            {},
            OTHER_KEY,
            f"conflicting public keys: X-Sentry-Auth has {KEY!r}, envelope dsn has {OTHER_KEY!r}",
        ),
        (
            {"X-Sentry-Auth": f"Sentry sentry_key={KEY}", "Authorization": f"Sentry sentry_key={OTHER_KEY}"},
            {},
            None,
            f"conflicting public keys: X-Sentry-Auth has {KEY!r}, Authorization has {OTHER_KEY!r}",
        ),
    ],
)
def test_conflicting_keys_are_400(
    headers: dict[str, str], query: dict[str, str], dsn_key: str | None, reason: str
) -> None:
    with pytest.raises(AuthError) as info:
        public_key_from_request(headers, query, dsn_key)
    assert (info.value.status, info.value.reason) == (400, reason)


@pytest.mark.parametrize(
    ("headers", "query", "source"),
    [
        ({"X-Sentry-Auth": "Sentry sentry_key=abc def"}, {}, "X-Sentry-Auth"),
        ({}, {"sentry_key": "a;drop table"}, "sentry_key query parameter"),
        ({}, {"sentry_key": "k" * 129}, "sentry_key query parameter"),
        ({}, {"sentry_key": "ключ"}, "sentry_key query parameter"),
    ],
)
def test_malformed_key_is_403(headers: dict[str, str], query: dict[str, str], source: str) -> None:
    with pytest.raises(AuthError) as info:
        public_key_from_request(headers, query, None)
    assert (info.value.status, info.value.reason) == (403, f"malformed public key in {source}")
