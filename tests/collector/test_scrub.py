"""Tests for collector.scrub: each rule, each place in the event, the options, and a real sentry-sdk event."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
import warnings
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.scrubber import EventScrubber
from sentry_sdk.transport import Transport

from collector.scrub import FILTERED, MAX_DEPTH, ScrubRules, scrub_event

CARD = "4111 1111 1111 1111"  # Visa's test number: passes Luhn
PASSWORD = "hunter2"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GIT_SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----"


def make_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
        "timestamp": dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC),
        "platform": "python",
        "level": "error",
    }
    event.update(fields)
    return event


def make_frame(vars: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"filename": "app/views.py", "function": "checkout", "lineno": 12, "in_app": True}
    if vars is not None:
        frame["vars"] = vars
    frame.update(fields)
    return frame


def make_exception(value: str = "boom", frames: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "ValueError", "value": value, "stacktrace": {"frames": frames or [make_frame()]}}


def scrub_extra(value: Any, rules: ScrubRules | None = None) -> Any:
    """Scrub `value` placed under a neutral key of `extra` and return what is left of it."""
    scrubbed = scrub_event(make_event(extra={"neutral": value}), rules or ScrubRules())
    return scrubbed["extra"]["neutral"]


def scrub_request(rules: ScrubRules | None = None, **request: Any) -> dict[str, Any]:
    return scrub_event(make_event(request=request), rules or ScrubRules())["request"]


# ---- keys ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password", "PASSWORD", "user_password", "newPassword", "passwd", "pwd", "mysql_pwd", "pass",
        "secret", "client_secret", "SECRET_KEY", "api_key", "apiKey", "API-KEY", "x-api-key", "apikey",
        "auth", "authToken", "Authorization", "Proxy-Authorization", "HTTP_AUTHORIZATION", "oauth",
        "token", "access_token", "refreshToken", "csrftoken", "X-CSRFToken", "XSRF-TOKEN", "_xsrf",
        "cookie", "Set-Cookie", "session", "sessionid", "session_id", "PHPSESSID", "user_session",
        "connect.sid", "credentials", "creds", "private_key", "privateKey", "card", "card_number",
        "cardNumber", "cc_number", "cvv", "cvv2", "cvc", "ssn", "iban", "otp", "pin", "jwt", "passphrase",
        "aws_secret_access_key",
    ],
)  # fmt: skip
def test_sensitive_keys_lose_their_value(key: str) -> None:
    assert scrub_event(make_event(extra={key: "hunter2"}))["extra"][key] == FILTERED


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("author", "Ada"),
        ("authority", "api.example.com"),
        ("is_authenticated", "yes"),
        ("token_count", 512),
        ("token_type", "bearer"),
        ("max_tokens", 100),
        ("tokenizer", "cl100k"),
        ("card_type", "visa"),
        ("password_length", 12),
        ("session_count", 3),
        ("classname", "Order"),
        ("secretary", "Bob"),
        ("keyboard", "qwerty"),
        ("monkey", "patch"),
        ("bypass", "no"),
        ("passenger", "Ada"),
        ("discard", "later"),
        ("cardinality", "many"),
        ("spinner", "on"),
        ("user_id", 42),
    ],
)
def test_keys_that_only_look_sensitive_are_kept(key: str, value: Any) -> None:
    assert scrub_event(make_event(extra={key: value}))["extra"][key] == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        ("", ""),
        (1234, FILTERED),
        (12.5, FILTERED),
        ({"user": "app", "pw": "x"}, FILTERED),
        (["a", "b"], FILTERED),
    ],
)
def test_what_a_sensitive_key_keeps_depends_on_the_value(value: Any, expected: Any) -> None:
    assert scrub_event(make_event(extra={"password": value}))["extra"]["password"] == expected


def test_numbers_under_token_like_keys_are_counts_but_strings_are_not() -> None:
    extra = scrub_event(make_event(extra={"tokens": 1500, "token": "abc", "session": 7}))["extra"]
    assert extra == {"tokens": 1500, "token": FILTERED, "session": 7}


def test_non_string_keys_are_matched_by_their_text() -> None:
    scrubbed = scrub_event(make_event(extra={1: "one", None: "none", "nested": {2: CARD}}))["extra"]
    assert scrubbed == {1: "one", None: "none", "nested": {2: FILTERED}}


# ---- values -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # card numbers: Luhn-valid, 13-19 digits, spaces or dashes
        (f"paid with {CARD} today", f"paid with {FILTERED} today"),
        ("4111-1111-1111-1111", FILTERED),
        ("5555555555554444", FILTERED),
        ("amex 378282246310005", f"amex {FILTERED}"),
        (f"{CARD} 2024", f"{FILTERED} 2024"),
        ("4111111111111112", "4111111111111112"),  # fails Luhn
        ("order 1700000000000 at", "order 1700000000000 at"),  # epoch milliseconds
        ("id 12345678901234567890123", "id 12345678901234567890123"),  # too long to be a card
        ("1 2 3 4 5 6 7 8 9 10 11 12 13 14", "1 2 3 4 5 6 7 8 9 10 11 12 13 14"),
        # bearer tokens keep the scheme
        ("Authorization: Bearer abc.def-ghi_123", f"Authorization: Bearer {FILTERED}"),
        ("bearer 0123456789abcdef", f"bearer {FILTERED}"),
        ("the bearer of bad news", "the bearer of bad news"),
        # JWTs
        (f"got {JWT} from idp", f"got {FILTERED} from idp"),
        # AWS keys, and a 40-character secret next to an access key id
        (f"key {AWS_ID} secret {AWS_SECRET}", f"key {FILTERED} secret {FILTERED}"),
        (f"commit {GIT_SHA}", f"commit {GIT_SHA}"),
        # PEM private keys keep their armour lines
        (
            f"key: {PEM} end",
            f"key: -----BEGIN RSA PRIVATE KEY-----{FILTERED}-----END RSA PRIVATE KEY----- end",
        ),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq...", f"-----BEGIN PRIVATE KEY-----{FILTERED}"),
        ("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", None),
        # passwords in URLs
        ("postgresql+psycopg://app:s3cret@db:5432/shop", f"postgresql+psycopg://app:{FILTERED}@db:5432/shop"),
        ("redis://:s3cret@cache:6379/0 down", f"redis://:{FILTERED}@cache:6379/0 down"),
        ("https://public@o1.example.com/1", "https://public@o1.example.com/1"),  # a DSN's key is public
        # key=value pairs in free text go through the key rules
        ("login password=hunter2 host=db", f"login password={FILTERED} host=db"),
        ("User(name='ada', password='hunter2')", f"User(name='ada', password='{FILTERED}')"),
        ("{'api_key': 'k-123', 'page': 2}", f"{{'api_key': '{FILTERED}', 'page': 2}}"),
        ('{"secret": "s", "ok": "yes"}', f'{{"secret": "{FILTERED}", "ok": "yes"}}'),
        ("GET /cb?code=1&access_token=abc", f"GET /cb?code=1&access_token={FILTERED}"),
        ("next=/login?token=abc", f"next=/login?token={FILTERED}"),
        ("token:abc123", f"token:{FILTERED}"),
        ("Password: too short", "Password: too short"),
        ("token_type=bearer", "token_type=bearer"),
        ("tokens=1500", "tokens=1500"),
    ],
)
def test_value_rules_replace_only_the_secret(text: str, expected: str | None) -> None:
    assert scrub_extra(text) == (text if expected is None else expected)


def test_card_number_stored_as_an_integer_is_filtered() -> None:
    assert scrub_extra(4111111111111111) == FILTERED
    assert scrub_extra(1700000000000) == 1700000000000


def test_aws_secret_next_to_a_key_id_in_the_same_mapping_is_filtered() -> None:
    scrubbed = scrub_extra({"key_id": AWS_ID, "sk": AWS_SECRET, "other": {"commit": GIT_SHA}})
    assert scrubbed == {"key_id": FILTERED, "sk": FILTERED, "other": {"commit": GIT_SHA}}
    assert scrub_extra([AWS_ID, AWS_SECRET]) == [FILTERED, FILTERED]


def test_source_lines_keep_their_code_but_not_literal_secrets() -> None:
    frame = make_frame(
        context_line="    password = request.POST['password']",
        pre_context=["    # token=abc", f"    card = '{CARD}'"],
        post_context=[f"    AUTH = 'Bearer {'x' * 12}'"],
    )
    scrubbed = scrub_event(make_event(exception={"values": [make_exception(frames=[frame])]}))
    out = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert out["context_line"] == "    password = request.POST['password']"
    assert out["pre_context"] == ["    # token=abc", f"    card = '{FILTERED}'"]
    assert out["post_context"] == [f"    AUTH = 'Bearer {FILTERED}'"]
    assert (out["filename"], out["function"], out["lineno"]) == ("app/views.py", "checkout", 12)


# ---- places in the event ------------------------------------------------------------------------------


def test_request_headers_as_a_mapping() -> None:
    headers = scrub_request(headers={"Authorization": "Basic dXNlcjpwdw==", "Cookie": "a=b", "Accept": "*/*"})[
        "headers"
    ]
    assert headers == {"Authorization": FILTERED, "Cookie": FILTERED, "Accept": "*/*"}


def test_request_headers_as_pairs() -> None:
    headers = scrub_request(headers=[["X-Api-Key", "k1"], ["Set-Cookie", "s=1"], ["Accept", "*/*"]])["headers"]
    assert headers == [["X-Api-Key", FILTERED], ["Set-Cookie", FILTERED], ["Accept", "*/*"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a=1&token=x", f"a=1&token={FILTERED}"),
        ("?page=2&api_key=k&flag", f"?page=2&api_key={FILTERED}&flag"),
        ("redirect=%2Fcb%3Fsession%3Dabc", f"redirect=/cb%3Fsession%3D{FILTERED}"),
        (f"pay={CARD.replace(' ', '+')}", f"pay={FILTERED}"),
        ("q=shoes&sort=price", "q=shoes&sort=price"),
        ("password=&x=1", "password=&x=1"),
    ],
)
def test_query_string_as_text(query: str, expected: str) -> None:
    assert scrub_request(query_string=query)["query_string"] == expected


def test_query_string_as_pairs_and_mapping() -> None:
    assert scrub_request(query_string=[["token", "x"], ["a", "1"]])["query_string"] == [["token", FILTERED], ["a", "1"]]
    assert scrub_request(query_string={"sessionid": "x", "a": "1"})["query_string"] == {"sessionid": FILTERED, "a": "1"}


def test_request_url_loses_its_password_and_secret_parameters() -> None:
    url = "https://ada:pw@shop.example.com/cb?state=1&code_token=abc#access_token=xyz&expires_in=60"
    assert scrub_request(url=url)["url"] == (
        f"https://ada:{FILTERED}@shop.example.com/cb?state=1&code_token={FILTERED}"
        f"#access_token={FILTERED}&expires_in=60"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"username": "ada", "password": "x"}, {"username": "ada", "password": FILTERED}),
        ([{"card_number": CARD}, {"note": CARD}], [{"card_number": FILTERED}, {"note": FILTERED}]),
        ('{"user": "ada", "password": "x"}', json.dumps({"user": "ada", "password": FILTERED})),
        ('{"user": "ada"}', '{"user": "ada"}'),  # unchanged JSON keeps its exact text
        ("user=ada&password=x", f"user=ada&password={FILTERED}"),
        (f"free text with {CARD}", f"free text with {FILTERED}"),
        ('{"broken": ', '{"broken": '),
    ],
)
def test_request_body(data: Any, expected: Any) -> None:
    assert scrub_request(data=data)["data"] == expected


@pytest.mark.parametrize(
    ("cookies", "expected"),
    [
        ("sessionid=abc; theme=dark; csrftoken=def", f"sessionid={FILTERED}; theme=dark; csrftoken={FILTERED}"),
        ("sudo=1;lang=en", f"sudo={FILTERED};lang=en"),
        (
            {"PHPSESSID": "abc", "theme": "dark", "symfony": "s"},
            {"PHPSESSID": FILTERED, "theme": "dark", "symfony": FILTERED},
        ),
        ([["connect.sid", "abc"], ["theme", "dark"]], [["connect.sid", FILTERED], ["theme", "dark"]]),
        ({"prefs": JWT}, {"prefs": FILTERED}),
    ],
)
def test_request_cookies(cookies: Any, expected: Any) -> None:
    assert scrub_request(cookies=cookies)["cookies"] == expected


def test_request_env() -> None:
    env = {"HTTP_AUTHORIZATION": "Bearer x", "SECRET_KEY": "s", "HTTP_COOKIE": "a=b", "SERVER_NAME": "web-1"}
    assert scrub_request(env=env)["env"] == {
        "HTTP_AUTHORIZATION": FILTERED,
        "SECRET_KEY": FILTERED,
        "HTTP_COOKIE": FILTERED,
        "SERVER_NAME": "web-1",
    }


def test_frame_variables_in_every_exception_and_thread() -> None:
    cause = make_exception("db down", [make_frame({"password": "'a'", "dsn": "'postgres://u:pw@db/x'"})])
    main = make_exception("checkout failed", [make_frame({"self": "<Order 7>", "ctx": {"api_key": "'k'", "n": 1}})])
    thread = {"id": 1, "stacktrace": {"frames": [make_frame({"token": "'t'"})]}}
    scrubbed = scrub_event(make_event(exception={"values": [cause, main]}, threads={"values": [thread]}))
    first, second = (v["stacktrace"]["frames"][0]["vars"] for v in scrubbed["exception"]["values"])
    assert first == {"password": FILTERED, "dsn": f"'postgres://u:{FILTERED}@db/x'"}
    assert second == {"self": "<Order 7>", "ctx": {"api_key": FILTERED, "n": 1}}
    assert scrubbed["threads"]["values"][0]["stacktrace"]["frames"][0]["vars"] == {"token": FILTERED}


def test_exception_values_and_messages_get_the_value_rules() -> None:
    event = make_event(
        exception={"values": [make_exception(f"charge failed for {CARD}")]},
        message={"formatted": "login with password=hunter2", "message": "login with %s", "params": [CARD]},
        logentry={"message": "auth %(header)s", "params": {"header": "Bearer abcdefgh", "authorization": "x"}},
    )
    scrubbed = scrub_event(event)
    assert scrubbed["exception"]["values"][0]["value"] == f"charge failed for {FILTERED}"
    assert scrubbed["message"] == {
        "formatted": f"login with password={FILTERED}",
        "message": "login with %s",
        "params": [FILTERED],
    }
    assert scrubbed["logentry"]["params"] == {"header": f"Bearer {FILTERED}", "authorization": FILTERED}


def test_plain_string_message() -> None:
    assert scrub_event(make_event(message=f"card {CARD}"))["message"] == f"card {FILTERED}"


def test_extra_contexts_and_tags() -> None:
    event = make_event(
        extra={"order": 7, "credentials": {"user": "a", "pw": "b"}},
        contexts={"runtime": {"name": "CPython"}, "payment": {"card": CARD, "amount": 10}},
        tags={"region": "eu", "session": "abc"},
    )
    scrubbed = scrub_event(event)
    assert scrubbed["extra"] == {"order": 7, "credentials": FILTERED}
    assert scrubbed["contexts"] == {"runtime": {"name": "CPython"}, "payment": {"card": FILTERED, "amount": 10}}
    assert scrubbed["tags"] == {"region": "eu", "session": FILTERED}
    pairs = scrub_event(make_event(tags=[["region", "eu"], ["auth", "x"]]))["tags"]
    assert pairs == [["region", "eu"], ["auth", FILTERED]]


def test_breadcrumb_messages_and_data() -> None:
    crumbs = {
        "values": [
            {"category": "query", "message": "UPDATE users SET password='x' WHERE id=1"},
            {"category": "httplib", "data": {"url": "https://api.example.com/v1?apikey=abc", "status_code": 200}},
            {"category": "auth", "data": {"Authorization": "Bearer abcdefgh", "user": "ada"}},
        ]
    }
    values = scrub_event(make_event(breadcrumbs=crumbs))["breadcrumbs"]["values"]
    assert values[0]["message"] == f"UPDATE users SET password='{FILTERED}' WHERE id=1"
    assert values[1]["data"] == {"url": f"https://api.example.com/v1?apikey={FILTERED}", "status_code": 200}
    assert values[2]["data"] == {"Authorization": FILTERED, "user": "ada"}


def test_user_keeps_its_id_and_by_default_its_email_and_ip() -> None:
    user = {"id": "42", "username": "ada", "email": "ada@example.com", "ip_address": "203.0.113.7"}
    assert scrub_event(make_event(user=user))["user"] == user


def test_metadata_is_copied_untouched() -> None:
    event = make_event(sdk={"name": "sentry.python", "version": "2.0"}, modules={"pyjwt": "2.8.0"}, release="a@1")
    scrubbed = scrub_event(event)
    assert {k: scrubbed[k] for k in ("sdk", "modules", "release", "timestamp")} == {
        k: event[k] for k in ("sdk", "modules", "release", "timestamp")
    }


# ---- options ------------------------------------------------------------------------------------------


def test_ip_address_scrubbing() -> None:
    rules = ScrubRules(scrub_ip_addresses=True)
    event = make_event(
        user={"id": 7, "ip_address": "203.0.113.7"},
        request={
            "env": {"REMOTE_ADDR": "10.0.0.5", "SERVER_PORT": "443"},
            "headers": {"X-Forwarded-For": "203.0.113.7, 10.0.0.1", "X-Real-IP": "10.0.0.1", "Accept": "*/*"},
        },
        extra={"log": "from 192.168.1.20:5432 and [2001:db8::1]:80 at 12:30:45, version 1.2.3.4.5"},
    )
    scrubbed = scrub_event(event, rules)
    assert scrubbed["user"] == {"id": 7, "ip_address": FILTERED}
    assert scrubbed["request"]["env"] == {"REMOTE_ADDR": FILTERED, "SERVER_PORT": "443"}
    assert scrubbed["request"]["headers"] == {"X-Forwarded-For": FILTERED, "X-Real-IP": FILTERED, "Accept": "*/*"}
    assert scrubbed["extra"]["log"] == f"from {FILTERED}:5432 and [{FILTERED}]:80 at 12:30:45, version 1.2.3.4.5"


def test_ip_addresses_are_kept_without_the_option() -> None:
    event = make_event(user={"ip_address": "203.0.113.7"}, request={"env": {"REMOTE_ADDR": "10.0.0.5"}})
    scrubbed = scrub_event(event)
    assert scrubbed["user"]["ip_address"] == "203.0.113.7"
    assert scrubbed["request"]["env"]["REMOTE_ADDR"] == "10.0.0.5"


def test_user_id_is_kept_even_when_it_is_an_email_address() -> None:
    user = {"id": "ada@example.com", "email": "ada@example.com", "username": "ada@example.com"}
    scrubbed = scrub_event(make_event(user=user), ScrubRules(scrub_emails=True))["user"]
    assert scrubbed == {"id": "ada@example.com", "email": FILTERED, "username": FILTERED}


def test_sdk_client_ip_goes_with_ip_scrubbing() -> None:
    event = make_event(sdk={"name": "sentry.python", "version": "2.0", "client_ip": "203.0.113.7"})
    assert scrub_event(event, ScrubRules(scrub_ip_addresses=True))["sdk"] == {
        "name": "sentry.python",
        "version": "2.0",
        "client_ip": FILTERED,
    }


def test_email_scrubbing() -> None:
    event = make_event(
        user={"id": 7, "email": "ada@example.com"},
        extra={"note": "mail ada.l+test@example.co.uk now", "dsn": "https://key@o1.example.com/1"},
    )
    scrubbed = scrub_event(event, ScrubRules(scrub_emails=True))
    assert scrubbed["user"] == {"id": 7, "email": FILTERED}
    assert scrubbed["extra"] == {"note": f"mail {FILTERED} now", "dsn": "https://key@o1.example.com/1"}
    assert scrub_event(event)["extra"]["note"] == "mail ada.l+test@example.co.uk now"


def test_extra_keys_match_loosely() -> None:
    rules = ScrubRules.from_settings(extra_keys=["order-ref"], extra_patterns=[])
    event = make_event(extra={"ORDER_REF": "A1", "customerOrderRef": "B2", "order": "C3"}, message="see orderRef=Z9")
    scrubbed = scrub_event(event, rules)
    assert scrubbed["extra"] == {"ORDER_REF": FILTERED, "customerOrderRef": FILTERED, "order": "C3"}
    assert scrubbed["message"] == f"see orderRef={FILTERED}"


def test_extra_patterns_apply_to_every_string() -> None:
    rules = ScrubRules.from_settings([], [r"ORD-\d{6}", r"(?i)acct#\d+"])
    event = make_event(
        exception={"values": [make_exception("lookup ORD-123456 failed", [make_frame({"ref": "'acct#99'"})])]},
        breadcrumbs={"values": [{"message": "ORD-654321 paid"}]},
    )
    scrubbed = scrub_event(event, rules)
    exc = scrubbed["exception"]["values"][0]
    assert exc["value"] == f"lookup {FILTERED} failed"
    assert exc["stacktrace"]["frames"][0]["vars"] == {"ref": f"'{FILTERED}'"}
    assert scrubbed["breadcrumbs"]["values"][0]["message"] == f"{FILTERED} paid"


def test_timestamps_are_kept_and_still_get_the_projects_patterns() -> None:
    stamps = ["2026-11-29T00:40:05.547356Z", "2026-11-29 00:40:05+01:00", "2026-11-29T00:40:05.5-0500"]
    rules = ScrubRules(scrub_ip_addresses=True, scrub_emails=True)
    assert scrub_extra(stamps, rules) == stamps
    assert scrub_extra(stamps[0], ScrubRules(extra_patterns=(r"2026-11-29",))) == f"{FILTERED}T00:40:05.547356Z"
    # Nanoseconds and an offset without a colon make 13 digits in a row: the card rule still sees them.
    assert scrub_extra("5477-98-00 88:44:41.633480049-5266") == f"5477-98-00 88:44:41.{FILTERED}"


def test_safe_fields_are_kept_as_sent() -> None:
    rules = ScrubRules.from_settings(safe_fields=["session_id", "X-CSRF-Token"])
    event = make_event(
        extra={"sessionId": "abc", "password": "x"},
        request={"headers": {"x-csrf-token": "t"}, "query_string": "session_id=abc&token=x"},
    )
    scrubbed = scrub_event(event, rules)
    assert scrubbed["extra"] == {"sessionId": "abc", "password": FILTERED}
    assert scrubbed["request"] == {"headers": {"x-csrf-token": "t"}, "query_string": f"session_id=abc&token={FILTERED}"}


def test_rules_from_settings_equal_the_same_rules_built_directly() -> None:
    built = ScrubRules.from_settings(["a"], [r"\d{9}"], scrub_ip_addresses=True, safe_fields=None)
    assert built == ScrubRules(extra_keys=("a",), extra_patterns=(r"\d{9}",), scrub_ip_addresses=True)
    assert hash(built) == hash(ScrubRules(extra_keys=("a",), extra_patterns=(r"\d{9}",), scrub_ip_addresses=True))


def test_rules_derived_with_replace_apply_the_new_options() -> None:
    base = ScrubRules.from_settings(["order_ref"], [r"ORD-\d+"])
    rules = dataclasses.replace(base, scrub_emails=True)
    scrubbed = scrub_event(make_event(extra={"order_ref": "x", "to": "ada@example.com", "n": "ORD-1"}), rules)
    assert scrubbed["extra"] == {"order_ref": FILTERED, "to": FILTERED, "n": FILTERED}
    with pytest.raises(ValueError, match="invalid scrub pattern"):
        dataclasses.replace(base, extra_patterns=("(",))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"extra_patterns": ["([a-z"]}, "invalid scrub pattern '([a-z'"),
        ({"extra_patterns": ["ok\\d+", "a*"]}, "scrub pattern 'a*' matches the empty string"),
        ({"extra_keys": ["--"]}, "extra key '--' has no letters or digits"),
        ({"safe_fields": [" "]}, "safe field ' ' has no letters or digits"),
        ({"extra_keys": "password"}, "extra_keys must be a list of strings"),
        ({"extra_patterns": [3]}, "extra_patterns must hold strings only"),
    ],
)
def test_bad_settings_raise_value_error_naming_them(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ScrubRules.from_settings(**kwargs)


# ---- safety -------------------------------------------------------------------------------------------


def test_caller_event_is_not_mutated_and_result_shares_no_containers() -> None:
    event = make_event(
        request={"headers": [["Authorization", "x"]], "data": {"password": "x"}, "cookies": {"sessionid": "s"}},
        exception={"values": [make_exception(frames=[make_frame({"password": "p", "items": [1, 2]})])]},
        sdk={"name": "sentry.python", "packages": [{"name": "pypi:sentry-sdk"}]},
    )
    before = copy.deepcopy(event)
    scrubbed = scrub_event(event)
    assert event == before
    scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["items"].append(3)
    scrubbed["sdk"]["packages"].append({})
    scrubbed["request"]["headers"][0][0] = "changed"
    assert event == before


def test_deep_nesting_is_cut_off_without_leaking() -> None:
    deep: Any = {"password": "hunter2"}
    for _ in range(500):
        deep = {"level": deep}
    wide = [[[CARD]] * 3] * 3
    scrubbed = scrub_event(make_event(extra={"deep": deep, "wide": wide}))
    text = json.dumps(scrubbed["extra"])
    assert "hunter2" not in text
    assert FILTERED in text
    assert scrubbed["extra"]["wide"] == [[[FILTERED]] * 3] * 3
    node = scrubbed["extra"]["deep"]
    for _ in range(MAX_DEPTH - 3):
        node = node["level"]
    assert isinstance(node, dict)


def test_deeply_nested_json_body_does_not_crash() -> None:
    body = "[" * 100_000 + "]" * 100_000
    assert scrub_request(data=body)["data"] == body


def test_non_dict_event_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="event dict"):
        scrub_event(["not", "an", "event"])  # type: ignore[arg-type]


# ---- a real sentry-sdk event --------------------------------------------------------------------------


class CapturingTransport(Transport):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


def checkout(password: str, card_number: str) -> None:
    payment_reference = card_number  # a name no key rule knows: the value rule must catch it
    login_secret = password
    raise RuntimeError(f"charge declined for {payment_reference} ({len(login_secret)})")


def test_real_sentry_sdk_event_with_secrets_in_local_variables() -> None:
    transport = CapturingTransport()
    with warnings.catch_warnings():
        # sentry-sdk 2.x deprecates send_default_pii in favour of data_collection; the option still works.
        warnings.filterwarnings("ignore", message=".*send_default_pii.*", category=DeprecationWarning)
        client = sentry_sdk.Client(
            dsn="http://public@127.0.0.1:9/1",
            transport=transport,
            send_default_pii=True,
            # The SDK's own denylist would hide the password before errlog sees it; switch it off so that
            # this test shows errlog's scrubbing, as with an SDK configured to send everything.
            event_scrubber=EventScrubber(denylist=[], pii_denylist=[]),
            default_integrations=False,
            auto_enabling_integrations=False,
            include_local_variables=True,
        )
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            # Breadcrumbs other tests left in the process's scopes (their URLs' random ports can hold "4111") are
            # not this event's.
            scope.clear_breadcrumbs()
            sentry_sdk.get_isolation_scope().clear_breadcrumbs()
            scope.set_user({"id": "42", "email": "ada@example.com", "ip_address": "203.0.113.7"})
            try:
                checkout(password=PASSWORD, card_number=CARD)
            except RuntimeError as exc:
                scope.capture_exception(exc)
        client.flush(timeout=2)
    finally:
        client.close()

    events = [e for env in transport.envelopes if (e := env.get_event()) is not None]
    assert len(events) == 1
    raw = events[0]
    raw_frame = raw["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert raw_frame["function"] == "checkout"
    assert PASSWORD in raw_frame["vars"]["password"]  # the SDK did send the secrets
    assert "4111" in raw_frame["vars"]["payment_reference"]

    scrubbed = scrub_event(dict(raw), ScrubRules(scrub_emails=True))
    frame_vars = scrubbed["exception"]["values"][-1]["stacktrace"]["frames"][-1]["vars"]
    assert frame_vars["password"] == FILTERED
    assert frame_vars["card_number"] == FILTERED
    assert frame_vars["payment_reference"] == f"'{FILTERED}'"
    assert frame_vars["login_secret"] == FILTERED
    assert scrubbed["exception"]["values"][-1]["value"] == f"charge declined for {FILTERED} (7)"
    assert scrubbed["user"] == {"id": "42", "email": FILTERED, "ip_address": "203.0.113.7"}
    text = json.dumps(scrubbed, default=str)
    # Source lines are code and stay; the secrets sit in constants outside the lines around each frame.
    assert PASSWORD not in text
    assert "4111" not in text
