"""JSON webhook payloads of each kind become canonical events, and bad ones get an error naming the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from collector.webhooks import KINDS, MAX_BATCH, WebhookPayloadError, normalize_webhook
from tests.collector.factories import (
    DART_TRACE,
    JAVA_CAUSED_BY,
    LARAVEL_LOG,
    RECEIVED_AT,
    make_frontend_payload,
    make_generic_payload,
    make_java_payload,
    make_laravel_payload,
    make_mobile_payload,
)

FACTORIES = {
    "laravel": make_laravel_payload,
    "java": make_java_payload,
    "frontend": make_frontend_payload,
    "mobile": make_mobile_payload,
    "generic": make_generic_payload,
}
CANONICAL_KEYS = {
    "event_id", "timestamp", "platform", "level", "severity", "logger", "transaction", "server_name", "release",
    "environment", "dist", "message", "exception", "stacktrace", "tags", "user", "request", "contexts",
    "breadcrumbs", "extra", "fingerprint", "sdk", "modules",
}  # fmt: skip


def normalize(kind: str, payload: Any) -> list[dict[str, Any]]:
    return normalize_webhook(kind, payload, received_at=RECEIVED_AT)


def one(kind: str, **overrides: Any) -> dict[str, Any]:
    [event] = normalize(kind, FACTORIES[kind](**overrides))
    return event


def main_exception(event: dict[str, Any]) -> dict[str, Any]:
    return event["exception"]["values"][-1]


def frames_of(value: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [(f["function"], f["lineno"]) for f in (value["stacktrace"] or {"frames": []})["frames"]]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_gives_a_canonical_event(kind: str) -> None:
    event = one(kind)
    assert set(event) == CANONICAL_KEYS
    assert re.fullmatch(r"[0-9a-f]{32}", event["event_id"])
    assert event["timestamp"].tzinfo is dt.UTC
    assert event["tags"]["source"] == f"webhook:{kind}"
    assert event["severity"] in {"critical", "high", "medium", "low"}
    assert event["platform"] == {"laravel": "php", "java": "java", "frontend": "javascript", "mobile": "dart"}.get(
        kind, "other"
    )


# --- per kind --------------------------------------------------------------------------------------


def test_laravel_report() -> None:
    event = one("laravel")
    exc = main_exception(event)
    assert (exc["type"], exc["value"]) == ("DivisionByZeroError", "Division by zero")
    assert frames_of(exc)[-2:] == [
        ("App\\Http\\Controllers\\CartController::show", 31),
        ("App\\Services\\Pricing::ratio", 48),
    ]
    assert exc["stacktrace"]["frames"][-1]["filename"] == "app/Services/Pricing.php"
    assert event["request"] == {"url": "https://shop.example.com/cart/7", "method": "GET"}
    assert event["user"] == {"id": "7", "email": "dana@example.com", "ip_address": "203.0.113.9"}
    assert (event["release"], event["environment"]) == ("shop@2024.03.01", "production")
    assert event["extra"] == {"cart_id": 7}
    assert event["tags"] == {"team": "checkout", "source": "webhook:laravel"}
    assert event["timestamp"] == dt.datetime(2024, 3, 1, 11, 58, 2, tzinfo=dt.UTC)


def test_laravel_trace_as_an_array_with_a_previous_exception() -> None:
    event = one(
        "laravel",
        trace=[
            {
                "file": "/var/www/html/app/Http/Controllers/CartController.php",
                "line": 31,
                "class": "App\\Services\\Pricing",
                "function": "ratio",
                "type": "->",
            },
        ],
        previous={
            "exception": "InvalidArgumentException",
            "message": "ratio must be positive",
            "file": "/x/app/A.php",
            "line": 3,
        },
        code="HY000",
    )
    previous, main = event["exception"]["values"]
    assert (previous["type"], previous["value"], frames_of(previous)) == (
        "InvalidArgumentException",
        "ratio must be positive",
        [(None, 3)],
    )
    assert frames_of(main) == [(None, 31), ("App\\Services\\Pricing::ratio", 48)]
    assert event["extra"]["exception_code"] == "HY000"


def test_laravel_full_log_text_as_trace_keeps_its_chain() -> None:
    event = one("laravel", message=None, exception=None, file=None, line=None, trace=LARAVEL_LOG)
    assert [v["type"] for v in event["exception"]["values"]] == [
        "GuzzleHttp\\Exception\\ClientException",
        "App\\Exceptions\\PaymentFailed",
    ]


def test_java_controller_advice() -> None:
    event = one("java")
    exc = main_exception(event)
    assert (exc["module"], exc["type"], exc["value"]) == (
        "java.lang",
        "IllegalStateException",
        "Order 42 cannot be shipped",
    )
    assert frames_of(exc) == [("run", 1583), ("post", 31), ("ship", 88)]  # oldest call first
    assert [f["in_app"] for f in exc["stacktrace"]["frames"]] == [False, True, True]
    assert event["request"] == {"url": "/api/orders/42/ship", "method": "POST"}
    assert event["user"] == {"username": "alice"}
    assert (event["level"], event["severity"], event["release"]) == ("error", "high", "3.2.1")
    assert event["tags"]["service"] == "orders"
    assert event["timestamp"] == dt.datetime(2024, 3, 1, 11, 58, 2, tzinfo=dt.UTC)  # epoch milliseconds


def test_java_cause_object_and_printed_trace() -> None:
    event = one(
        "java",
        cause={"exceptionClass": "java.sql.SQLException", "message": "reset", "cause": "java.io.EOFException: eof"},
    )
    assert [(v["module"], v["type"], v["value"]) for v in event["exception"]["values"]] == [
        ("java.io", "EOFException", "eof"),
        ("java.sql", "SQLException", "reset"),
        ("java.lang", "IllegalStateException", "Order 42 cannot be shipped"),
    ]
    printed = one("java", stackTrace=JAVA_CAUSED_BY, exceptionClass=None, message=None, cause="ignored: x")
    assert [v["type"] for v in printed["exception"]["values"]] == [
        "SQLTransientConnectionException",
        "IllegalStateException",
    ]


def test_frontend_onerror() -> None:
    event = one("frontend")
    exc = main_exception(event)
    assert (exc["type"], exc["value"]) == ("TypeError", "Cannot read properties of undefined (reading 'id')")
    assert exc["mechanism"] == {"type": "onerror", "handled": False}
    assert frames_of(exc)[-1] == ("renderUser", 2)
    assert event["request"] == {
        "url": "https://shop.example.com/users",
        "headers": {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/122.0"},
    }


def test_frontend_without_an_error_object_reads_the_message_and_location() -> None:
    exc = main_exception(one("frontend", error=None))
    assert (exc["type"], exc["value"]) == ("TypeError", "Cannot read properties of undefined (reading 'id')")
    [frame] = exc["stacktrace"]["frames"]
    assert (frame["abs_path"], frame["lineno"], frame["colno"]) == (
        "https://shop.example.com/static/js/main.4f3a9c.js",
        2,
        18734,
    )
    cross_origin = main_exception(one("frontend", error=None, message="Script error.", source=None))
    assert (cross_origin["type"], cross_origin["value"], cross_origin["stacktrace"]) == ("Error", "Script error.", None)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("request timed out", ("UnhandledRejection", "request timed out")),
        (404, ("UnhandledRejection", "404")),
        (
            {"name": "AbortError", "message": "aborted", "stack": "AbortError: aborted\n    at f (https://x/a.js:1:2)"},
            ("AbortError", "aborted"),
        ),
    ],
)
def test_frontend_unhandled_rejection(reason: Any, expected: tuple[str, str]) -> None:
    [event] = normalize("frontend", {"type": "unhandledrejection", "reason": reason})
    exc = main_exception(event)
    assert (exc["type"], exc["value"]) == expected
    assert exc["mechanism"] == {"type": "onunhandledrejection", "handled": False}


def test_mobile_flutter_error() -> None:
    event = one("mobile")
    exc = main_exception(event)
    assert (exc["type"], exc["value"]) == ("FormatException", "Unexpected character (at character 1)")
    assert frames_of(exc)[-1] == ("_ChunkedJsonParser.fail", 1383)
    assert event["contexts"] == {
        "flutter_error_details": {"library": "widgets library", "context": "while building UserScreen"},
        "device": {"model": "Pixel 7", "manufacturer": "Google"},
        "os": {"name": "android", "version": "14"},
        "app": {"app_version": "1.4.0", "app_build": "42", "app_identifier": "com.acme.shop"},
    }
    assert event["release"] == "com.acme.shop@1.4.0+42"  # as Sentry's Flutter SDK names it
    assert (event["level"], event["severity"]) == ("fatal", "critical")
    assert one("mobile", release="given")["release"] == "given"


def test_mobile_type_and_header_sources() -> None:
    assert main_exception(one("mobile", exception="Bad state: No element"))["type"] == "StateError"
    assert main_exception(one("mobile", type="HttpException", exception="boom"))["type"] == "HttpException"
    from_stack = one("mobile", exception=None, message="crashed", stack=DART_TRACE)
    assert (main_exception(from_stack)["type"], main_exception(from_stack)["value"]) == ("FormatException", "crashed")


def test_generic_message_only_is_a_message_event() -> None:
    event = one("generic")
    assert event["exception"] is None
    assert event["message"] == {"formatted": "nightly export failed: disk full", "message": None, "params": None}
    assert (event["level"], event["severity"], event["platform"]) == ("warning", "medium", "other")


def test_generic_with_a_text_stack_detects_the_platform() -> None:
    event = one("generic", stacktrace=DART_TRACE, exception_type="ParseError")
    assert event["platform"] == "dart"
    assert (main_exception(event)["type"], main_exception(event)["value"]) == (
        "ParseError",
        "nightly export failed: disk full",
    )


def test_generic_with_frames() -> None:
    event = one(
        "generic",
        platform="php",
        type="ExportFailed",
        stacktrace=[
            {"filename": "/srv/app/vendor/league/csv/src/Writer.php", "function": "insertOne", "lineno": 80},
            {"filename": "/srv/app/app/Export.php", "function": "run", "lineno": 12},
            {"filename": "/srv/app/app/Cli.php", "function": "main", "in_app": False},
        ],
    )
    assert event["platform"] == "php"
    frames = main_exception(event)["stacktrace"]["frames"]
    assert [(f["function"], f["in_app"]) for f in frames] == [("insertOne", False), ("run", True), ("main", False)]


def test_an_unparseable_stack_is_kept_verbatim() -> None:
    event = one("generic", stacktrace="something went wrong somewhere", type="Oops")
    assert event["extra"]["stacktrace"] == "something went wrong somewhere"
    assert main_exception(event)["stacktrace"] is None
    laravel = one("laravel", trace="no frames here")
    assert laravel["extra"]["stacktrace"] == "no frames here"
    assert frames_of(main_exception(laravel)) == [(None, 48)]  # still the throw location from file/line


def test_handled_flag_becomes_a_mechanism() -> None:
    assert main_exception(one("java", handled=True))["mechanism"] == {"type": "generic", "handled": True}
    assert "mechanism" not in main_exception(one("java"))


# --- batches ---------------------------------------------------------------------------------------


def test_batch_gives_one_event_per_item_in_order() -> None:
    events = normalize("generic", [make_generic_payload(message=f"m{i}") for i in range(3)])
    assert [e["message"]["formatted"] for e in events] == ["m0", "m1", "m2"]
    assert len({e["event_id"] for e in events}) == 3


def test_batch_size_limit() -> None:
    assert len(normalize("generic", [make_generic_payload()] * MAX_BATCH)) == MAX_BATCH
    with pytest.raises(WebhookPayloadError, match=r"^a batch holds at most 100 items, got 101$") as caught:
        normalize("generic", [make_generic_payload()] * (MAX_BATCH + 1))
    assert caught.value.status == 413


# --- bad input -------------------------------------------------------------------------------------

LEVEL_ERROR = "'level' must be one of fatal, error, warning, info, debug (got 'loud')"
SEVERITY_ERROR = "'severity' must be one of critical, high, medium, low (got 'urgent')"
TIMESTAMP_ERROR = "'timestamp' must be an ISO 8601 string or epoch seconds or milliseconds"
BAD = [
    ("generic", "oops", "the payload must be a JSON object or a list of objects"),
    ("generic", 12, "the payload must be a JSON object or a list of objects"),
    ("generic", [], "the batch is empty: send at least one object"),
    ("generic", [{"message": "ok"}, "x"], "item 1: must be a JSON object, got a string"),
    ("generic", [{"message": "ok"}, {"message": "ok"}, {"message": 3}], "item 2: 'message' must be a string"),
    ("generic", {}, "'message' is required"),
    ("generic", {"message": ""}, "'message' must be a non-empty string"),
    ("generic", {"message": "x", "level": "loud"}, LEVEL_ERROR),
    ("generic", {"message": "x", "severity": "urgent"}, SEVERITY_ERROR),
    ("generic", {"message": "x", "level": 3}, "'level' must be a string"),
    ("generic", {"message": "x", "event_id": "abc"}, "'event_id' must be 32 hex digits or a UUID"),
    ("generic", {"message": "x", "eventId": 5}, "'eventId' must be 32 hex digits or a UUID"),
    ("generic", {"message": "x", "timestamp": "yesterday"}, TIMESTAMP_ERROR),
    ("generic", {"message": "x", "timestamp": True}, TIMESTAMP_ERROR),
    ("generic", {"message": "x", "tags": ["a"]}, "'tags' must be an object"),
    ("generic", {"message": "x", "tags": {"team": {"a": 1}}}, "'tags.team' must be a string, number or boolean"),
    ("generic", {"message": "x", "user": {"email": 7}}, "'user.email' must be a string"),
    ("generic", {"message": "x", "user": 5}, "'user' must be an object"),
    ("generic", {"message": "x", "extra": "notes"}, "'extra' must be an object"),
    ("generic", {"message": "x", "fingerprint": "abc"}, "'fingerprint' must be a list of strings"),
    ("generic", {"message": "x", "stacktrace": 5}, "'stacktrace' must be a string or a list of frames"),
    ("generic", {"message": "x", "stacktrace": [{"lineno": "3"}]}, "'stacktrace[0].lineno' must be an integer"),
    ("generic", {"message": "x", "stacktrace": [7]}, "'stacktrace[0]' must be an object"),
    ("generic", {"message": "x", "handled": "yes"}, "'handled' must be true or false"),
    ("generic", {"message": "x", "breadcrumbs": {}}, "'breadcrumbs' must be a list of objects"),
    ("laravel", {"user": {"id": 1}}, "a laravel payload needs at least one of 'message', 'exception', 'trace'"),
    ("laravel", {"message": "x", "line": "12"}, "'line' must be an integer"),
    ("laravel", {"message": "x", "trace": [{"file": "/a.php", "line": 1.5}]}, "'trace[0].line' must be an integer"),
    ("laravel", {"message": "x", "previous": "Exception"}, "'previous' must be an object"),
    ("laravel", {"message": "x", "previous": {"line": "x"}}, "'previous.line' must be an integer"),
    ("java", {"message": "x", "stackTrace": [{"className": 1}]}, "'stackTrace[0].className' must be a string"),
    ("java", {"message": "x", "cause": 12}, "'cause' must be an object"),
    ("java", {"exceptionClass": "x.Y", "release": ["1"]}, "'release' must be a string or a number"),
    ("frontend", {"message": "x", "type": "click"}, "'type' must be 'error' or 'unhandledrejection'"),
    ("frontend", {"message": "x", "error": {"stack": 5}}, "'error.stack' must be a string or a list of frames"),
    ("frontend", {"message": "x", "lineno": "10"}, "'lineno' must be an integer"),
    ("mobile", {"exception": "x", "device": "Pixel"}, "'device' must be an object"),
    ("mobile", {"exception": "x", "device": {"osVersion": []}}, "'device.osVersion' must be a string or a number"),
    ("mobile", {"exception": "x", "context": {"a": 1}}, "'context' must be a string"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "payload", "message"), BAD, ids=[m for _, _, m in BAD])
def test_bad_payloads_name_the_field(kind: str, payload: Any, message: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        normalize(kind, payload)
    assert str(caught.value) == message
    assert caught.value.status == 400


def test_programming_errors_are_not_payload_errors() -> None:
    with pytest.raises(ValueError, match="unknown webhook kind 'python'"):
        normalize("python", {"message": "x"})
    with pytest.raises(ValueError, match="timezone-aware"):
        normalize_webhook("generic", {"message": "x"}, received_at=dt.datetime(2024, 3, 1))


# --- level and severity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "level", "severity"),
    [
        ({}, "error", "high"),
        ({"level": "fatal"}, "fatal", "critical"),
        ({"level": "error"}, "error", "high"),
        ({"level": "warning"}, "warning", "medium"),
        ({"level": "info"}, "info", "low"),
        ({"level": "debug"}, "debug", "low"),
        ({"level": "WARN"}, "warning", "medium"),  # log4j / logback
        ({"level": "critical"}, "fatal", "critical"),  # Monolog
        ({"level": "emergency"}, "fatal", "critical"),
        ({"level": "notice"}, "info", "low"),
        ({"level": "SEVERE"}, "error", "high"),  # java.util.logging
        ({"severity": "critical"}, "fatal", "critical"),
        ({"severity": "high"}, "error", "high"),
        ({"severity": "Medium"}, "warning", "medium"),
        ({"severity": "low"}, "info", "low"),
        ({"level": "debug", "severity": "critical"}, "debug", "critical"),  # both given: each is kept
    ],
)
def test_level_and_severity(fields: dict[str, Any], level: str, severity: str) -> None:
    [event] = normalize("generic", {"message": "x", **fields})
    assert (event["level"], event["severity"]) == (level, severity)


# --- timestamps and ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, RECEIVED_AT),
        ("2024-03-01T11:30:00Z", dt.datetime(2024, 3, 1, 11, 30, tzinfo=dt.UTC)),
        ("2024-03-01T13:30:00+02:00", dt.datetime(2024, 3, 1, 11, 30, tzinfo=dt.UTC)),
        ("2024-03-01 11:30:00", dt.datetime(2024, 3, 1, 11, 30, tzinfo=dt.UTC)),  # naive: taken as UTC
        ("2024-03-01T11:30:00.123456789Z", dt.datetime(2024, 3, 1, 11, 30, 0, 123456, tzinfo=dt.UTC)),  # Java Instant
        (1709292600, dt.datetime(2024, 3, 1, 11, 30, tzinfo=dt.UTC)),
        (1709292600.5, dt.datetime(2024, 3, 1, 11, 30, 0, 500000, tzinfo=dt.UTC)),
        (1709292600000, dt.datetime(2024, 3, 1, 11, 30, tzinfo=dt.UTC)),  # milliseconds
        ("1709292600000", dt.datetime(2024, 3, 1, 11, 30, tzinfo=dt.UTC)),
        ("2019-01-01T00:00:00Z", RECEIVED_AT),  # a clock years off: the receive time is the better guess
    ],
)
def test_timestamps(value: Any, expected: dt.datetime) -> None:
    [event] = normalize("generic", {"message": "x", "timestamp": value})
    assert event["timestamp"] == expected
    assert event["timestamp"].utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0D8F6C2A9B7E4F3A8C1D2E3F4A5B6C7D", "0d8f6c2a9b7e4f3a8c1d2e3f4a5b6c7d"),
        ("0d8f6c2a-9b7e-4f3a-8c1d-2e3f4a5b6c7d", "0d8f6c2a9b7e4f3a8c1d2e3f4a5b6c7d"),
    ],
)
def test_a_given_event_id_is_normalised(given: str, expected: str) -> None:
    assert one("generic", event_id=given)["event_id"] == expected


def test_the_source_tag_cannot_be_overridden() -> None:
    event = one("generic", tags={"source": "sentry", "retries": 3, "beta": True}, service="exporter")
    assert event["tags"] == {"source": "webhook:generic", "retries": "3", "beta": "true", "service": "exporter"}


def test_empty_strings_are_absent_values() -> None:
    event = one("java", version="", environment="", hostname="")
    assert (event["release"], event["environment"], event["server_name"]) == (None, None, None)
