"""Text stack traces of PHP, Java, JavaScript and Dart become Sentry-ordered exception values."""

from __future__ import annotations

import random
from typing import Any

import pytest

from collector.stacktraces import (
    detect_platform,
    parse_dart,
    parse_java,
    parse_javascript,
    parse_php,
    parse_stacktrace,
    php_frames_from_backtrace,
    split_dart_error,
)
from tests.collector.factories import (
    DART_TERSE,
    DART_TRACE,
    FLUTTER_ERROR_DUMP,
    FLUTTER_LOGCAT,
    JAVA_CAUSED_BY,
    JAVA_LOGBACK,
    JS_CHROME,
    JS_FIREFOX,
    JS_NODE,
    JS_NODE_INSPECT,
    LARAVEL_LOG,
    PHP_FATAL_CHAIN,
    PHP_TRACE_AS_STRING,
)

FRAME_KEYS = {"filename", "abs_path", "module", "function", "lineno", "colno", "in_app"}
SAMPLES = {
    "php-trace": (PHP_TRACE_AS_STRING, "php"),
    "php-fatal": (PHP_FATAL_CHAIN, "php"),
    "laravel-log": (LARAVEL_LOG, "php"),
    "java": (JAVA_CAUSED_BY, "java"),
    "logback": (JAVA_LOGBACK, "java"),
    "chrome": (JS_CHROME, "javascript"),
    "node": (JS_NODE, "javascript"),
    "firefox": (JS_FIREFOX, "javascript"),
    "dart": (DART_TRACE, "dart"),
    "dart-terse": (DART_TERSE, "dart"),
    "flutter-logcat": (FLUTTER_LOGCAT, "dart"),
    "flutter-dump": (FLUTTER_ERROR_DUMP, "dart"),
}


def frames(value: dict[str, Any]) -> list[dict[str, Any]]:
    return value["stacktrace"]["frames"] if value["stacktrace"] else []


def where(frame: dict[str, Any]) -> tuple[Any, Any]:
    return frame["function"], frame["lineno"]


# --- shape and detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "platform"), SAMPLES.values(), ids=SAMPLES.keys())
def test_every_sample_is_detected_and_gives_canonical_values(text: str, platform: str) -> None:
    assert detect_platform(text) == platform
    values = parse_stacktrace(text)
    assert values
    for value in values:
        assert set(value) == {"type", "value", "module", "stacktrace"}
        assert isinstance(value["type"], str) and value["type"]
        assert isinstance(value["value"], str)
        for frame in frames(value):
            assert set(frame) == FRAME_KEYS
            assert frame["lineno"] is None or isinstance(frame["lineno"], int)
    assert frames(values[-1]), "the main exception carries frames"


def test_a_platform_hint_picks_the_parser_and_a_wrong_one_falls_back_to_detection() -> None:
    assert parse_stacktrace(JAVA_CAUSED_BY, "kotlin") == parse_java(JAVA_CAUSED_BY)
    assert parse_stacktrace(JAVA_CAUSED_BY, "flutter") == parse_java(JAVA_CAUSED_BY)
    assert parse_stacktrace(DART_TRACE, "nonsense") == parse_dart(DART_TRACE)


GARBAGE = {
    "empty": "",
    "blank": "   \n\t\n",
    "prose": "The deploy failed at 3am, see #ops for details.\nat least it was quick",
    "header only": "java.lang.IllegalStateException: no frames at all",
    "js header only": "TypeError: x is undefined",
    "json": '{"error": "boom", "trace": [1, 2, 3]}',
    "half frames": "#0 \n#1 (12): \n\tat (\n    at \n@\n",
    "binary": "\x00\xff\ufffd" * 50,
    "email": "write to ops@example.com:25 about it",
    "long line": "at " + "x" * 100_000,
    "php warning": "Warning: Undefined variable $x in /var/www/a.php on line 3",
}


@pytest.mark.parametrize("text", GARBAGE.values(), ids=GARBAGE.keys())
def test_unparseable_text_gives_no_values(text: str) -> None:
    assert parse_stacktrace(text) == []
    for parser in (parse_php, parse_java, parse_javascript, parse_dart):
        assert parser(text) == []


@pytest.mark.parametrize("value", [None, 42, b"#0 /a.php(1): f()", ["at x"]])
def test_non_text_gives_no_values(value: Any) -> None:
    assert parse_stacktrace(value) == []
    assert detect_platform(value) is None


def test_shuffled_trace_fragments_never_raise() -> None:
    pieces = "\n".join(text for text, _ in SAMPLES.values()).splitlines()
    rng = random.Random(20240301)
    for _ in range(300):
        lines = rng.sample(pieces, rng.randint(1, 12))
        text = "\n".join(line[: rng.randint(0, len(line))] if rng.random() < 0.3 else line for line in lines)
        for platform in (None, "php", "java", "javascript", "dart"):
            for value in parse_stacktrace(text, platform):
                assert all(set(frame) == FRAME_KEYS for frame in frames(value))


def test_very_deep_stacks_are_trimmed_in_the_middle() -> None:
    text = "Error: deep\n" + "\n".join(f"    at f{i} (https://x.test/a.js:{i}:1)" for i in range(600))
    kept = frames(parse_javascript(text)[0])
    assert len(kept) == 250
    assert kept[0]["function"] == "f599" and kept[-1]["function"] == "f0"  # oldest and newest call both kept


# --- PHP -------------------------------------------------------------------------------------------


def test_php_trace_string_takes_its_throw_location_from_the_caller() -> None:
    [value] = parse_php(PHP_TRACE_AS_STRING, file="/var/www/html/app/Services/Pricing.php", line=48)
    assert value["type"] == "Exception"
    got = frames(value)
    # Each #N line names the function called *from* its file(line): the frame is the caller's location.
    assert [where(f) for f in got] == [
        (None, 52),
        ("Illuminate\\Pipeline\\Pipeline::Illuminate\\Pipeline\\{closure}", 128),
        ("Illuminate\\Routing\\Controller::callAction", 54),
        ("call_user_func_array", None),
        ("App\\Http\\Controllers\\CartController::show", 31),
        ("App\\Services\\Pricing::ratio", 48),
    ]
    assert [f["filename"] for f in got] == [
        "public/index.php",
        "vendor/laravel/framework/src/Illuminate/Pipeline/Pipeline.php",
        "vendor/laravel/framework/src/Illuminate/Routing/Controller.php",
        "[internal]",
        "app/Http/Controllers/CartController.php",
        "app/Services/Pricing.php",
    ]
    assert [f["in_app"] for f in got] == [True, False, False, False, True, True]
    assert got[-1]["abs_path"] == "/var/www/html/app/Services/Pricing.php"


def test_php_trace_string_without_a_throw_location_still_names_the_throwing_function() -> None:
    got = frames(parse_php(PHP_TRACE_AS_STRING)[0])
    assert where(got[-1]) == ("App\\Services\\Pricing::ratio", None)
    assert got[-1]["filename"] is None and got[-1]["in_app"] is False


def test_php_fatal_error_with_next_chain_puts_the_previous_exception_first() -> None:
    previous, main = parse_php(PHP_FATAL_CHAIN)
    assert previous["type"] == "PDOException"
    assert previous["value"] == "SQLSTATE[HY000] [2002] Connection refused"
    assert main["type"] == "Illuminate\\Database\\QueryException"
    assert main["value"].endswith("(Connection: mysql, SQL: select * from `users` where `id` = 12)")
    assert where(frames(previous)[-1]) == ("PDO::__construct", 70)
    assert where(frames(previous)[-2]) == ("Illuminate\\Database\\Connectors\\Connector::createPdoConnection", 70)
    assert [where(f) for f in frames(main)] == [
        (None, 22),
        ("App\\Repositories\\UserRepository::find", 31),
        ("Illuminate\\Database\\Connection::runQueryCallback", 829),
    ]


def test_laravel_log_entry_with_previous_exception() -> None:
    previous, main = parse_php(LARAVEL_LOG)
    assert main["type"] == "App\\Exceptions\\PaymentFailed"  # JSON's doubled backslashes are undone
    assert main["value"] == "Payment declined for order 981"
    assert previous["type"] == "GuzzleHttp\\Exception\\ClientException"
    assert previous["value"].startswith("Client error: `POST https://api.stripe.com/v1/charges`")
    # Release directories are cut off so the same code groups alike across deploys.
    assert [(f["filename"], f["lineno"], f["in_app"]) for f in frames(main)] == [
        ("vendor/laravel/framework/src/Illuminate/Routing/Controller.php", 54, False),
        ("app/Http/Controllers/CheckoutController.php", 41, True),
        ("app/Services/Billing.php", 88, True),
    ]
    assert where(frames(main)[-1]) == ("App\\Services\\Billing::charge", 88)
    assert where(frames(previous)[-1]) == ("GuzzleHttp\\Client::post", 113)


def test_php_uncaught_with_multiline_message_and_closures() -> None:
    text = (
        "PHP Fatal error:  Uncaught RuntimeException: cannot log in as admin\n"
        "second line of the message in /srv/app/src/Auth.php:17\n"
        "Stack trace:\n"
        "#0 /srv/app/src/Kernel.php(9): {closure:App\\Kernel::boot():8}(Object(App\\User))\n"
        "#1 /srv/app/src/Kernel.php(30): App\\Kernel->App\\{closure}()\n"
        "#2 {main}\n"
        "  thrown in /srv/app/src/Auth.php on line 17"
    )
    [value] = parse_php(text)
    assert value["type"] == "RuntimeException"
    assert value["value"] == "cannot log in as admin\nsecond line of the message"
    assert [where(f) for f in frames(value)] == [
        (None, 30),
        ("App\\Kernel::App\\{closure}", 9),
        ("{closure:App\\Kernel::boot():8}", 17),
    ]


def test_php_backtrace_array_uses_the_same_rules() -> None:
    backtrace = [
        {"file": "/app/app/Jobs/Sync.php", "line": 20, "class": "App\\Api", "function": "pull"},
        {"function": "handle", "class": "App\\Jobs\\Sync"},  # called by the engine: no file
    ]
    got = php_frames_from_backtrace(backtrace, "/app/app/Api.php", 5)
    # The engine's own call has no location, so there is no outermost {main} frame.
    assert [(f["filename"], f["function"], f["lineno"]) for f in got] == [
        ("app/Jobs/Sync.php", "App\\Jobs\\Sync::handle", 20),
        ("app/Api.php", "App\\Api::pull", 5),
    ]


# --- Java ------------------------------------------------------------------------------------------


def test_java_caused_by_chain_is_cause_first_with_elided_frames_restored() -> None:
    cause, main = parse_java(JAVA_CAUSED_BY)
    assert (main["module"], main["type"]) == ("java.lang", "IllegalStateException")
    assert main["value"] == "Order 42 cannot be shipped"
    assert (cause["module"], cause["type"]) == ("java.sql", "SQLTransientConnectionException")
    assert cause["value"] == "HikariPool-1 - Connection is not available\nRequest timed out after 30000ms."
    assert [(f["module"], f["function"], f["lineno"]) for f in frames(main)] == [
        ("com.acme.shop.Application", "main", 12),
        ("org.springframework.web.servlet.FrameworkServlet", "service", 883),
        ("jdk.internal.reflect.NativeMethodAccessorImpl", "invoke0", None),
        ("com.acme.shop.orders.OrderController", "post", 31),
        ("com.acme.shop.orders.OrderService", "ship", 88),
    ]
    # "... 3 more" are the enclosing trace's last three frames, and the suppressed block is not mixed in.
    assert [f["function"] for f in frames(cause)] == [
        "main",
        "service",
        "invoke0",
        "ship",
        "lock",
        "createTimeoutException",
    ]
    assert [f["in_app"] for f in frames(main)] == [True, False, False, True, True]
    assert frames(cause)[-1]["in_app"] is False  # com.zaxxer: a library
    native = frames(main)[2]
    assert native["filename"] is None and native["lineno"] is None


def test_java_logback_rendering() -> None:
    cause, main = parse_java(JAVA_LOGBACK)
    assert main["type"] == "NullPointerException"
    assert main["value"] == 'Cannot invoke "String.length()" because "name" is null'
    got = frames(main)
    assert got[-1]["function"] == "lambda$toDto$0" and got[-1]["module"] == "com.acme.shop.users.UserMapper"
    lambda_frame = got[-2]
    assert lambda_frame["module"] == "com.acme.shop.users.UserMapper$$Lambda/0x000001f8b4a0c000"
    assert lambda_frame["filename"] is None and lambda_frame["lineno"] is None  # Unknown Source
    assert got[-3]["module"] == "java.util.stream.ReferencePipeline$3$1"  # the java.base/ prefix is dropped
    assert [f["function"] for f in frames(cause)] == ["invoke", "list", "find"]


def test_java_wrapped_by_is_already_root_cause_first() -> None:
    text = (
        "java.net.ConnectException: refused\n\tat com.acme.Net.open(Net.java:3)\n"
        "Wrapped by: com.acme.ApiException: upstream down\n\tat com.acme.Api.call(Api.java:9)\n"
    )
    root, main = parse_java(text)
    assert (root["type"], main["type"]) == ("ConnectException", "ApiException")
    assert [f["function"] for f in frames(main)] == ["call"]


def test_java_frames_without_a_header_and_a_second_trace() -> None:
    text = (
        "\tat com.acme.A.b(A.java:1)\n\tat com.acme.A.main(A.java:9)\n"
        "java.lang.Error: another trace\n\tat x.Y.z(Y.java:1)"
    )
    [value] = parse_java(text)
    assert (value["module"], value["type"]) == ("java.lang", "Throwable")
    assert [f["function"] for f in frames(value)] == ["main", "b"]


# --- JavaScript ------------------------------------------------------------------------------------


def test_chrome_stack() -> None:
    [value] = parse_javascript(JS_CHROME)
    assert (value["type"], value["value"]) == ("TypeError", "Cannot read properties of undefined (reading 'id')")
    got = [(f["function"], f["filename"], f["lineno"], f["colno"], f["in_app"]) for f in frames(value)]
    main_js = "/static/js/main.4f3a9c.js"
    assert got == [
        ("loadPage", main_js, 2, 21000, True),
        ("Promise.all", None, None, None, False),
        ("eval", "/static/js/vendor.js", 1, 5120, True),  # where eval() was called
        ("new UserList", main_js, 2, 20110, True),
        ("Array.map", "<anonymous>", None, None, False),
        (None, main_js, 2, 19001, True),
        ("renderUser", main_js, 2, 18734, True),
    ]
    assert frames(value)[-1]["abs_path"] == "https://shop.example.com/static/js/main.4f3a9c.js"


def test_node_stack_with_cause() -> None:
    cause, main = parse_javascript(JS_NODE)
    assert (main["type"], main["value"]) == ("Error", "connect ECONNREFUSED 127.0.0.1:5432")
    assert (cause["type"], cause["value"]) == ("Error", "socket hang up")
    got = [(f["function"], f["filename"], f["in_app"]) for f in frames(main)]
    assert got == [
        ("process.processTicksAndRejections", "node:internal/process/task_queues", False),
        ("Pool.connect", "/srv/api/node_modules/pg-pool/index.js", False),
        ("Module._compile", "node:internal/modules/cjs/loader", False),
        ("Object.<anonymous>", "/srv/api/src/db.js", True),
    ]
    assert where(frames(cause)[0]) == ("Socket.onEnd", 3)


def test_node_inspect_restores_frames_shared_with_the_cause_and_skips_aggregate_members() -> None:
    innermost, cause, main = parse_javascript(JS_NODE_INSPECT)
    assert (innermost["type"], innermost["value"], innermost["stacktrace"]) == ("SyntaxError", "Unexpected token", None)
    assert (cause["type"], cause["value"]) == ("Error", "config load failed")
    assert (main["type"], main["value"]) == ("AggregateError", "startup failed")
    # "... 2 lines matching ...": the two frames after Object.<anonymous> in the cause's stack.
    assert [f["function"] for f in frames(main)][::-1] == [
        "start", "Object.<anonymous>", "Module._compile", "Module.load", None,
    ]  # fmt: skip
    assert where(frames(main)[-1]) == ("start", 8)  # not the member RangeError's frame at 8:31
    assert [f["colno"] for f in frames(main)][-1] == 11
    assert len(frames(cause)) == 6


@pytest.mark.parametrize("link", ["caused by: ", "Caused by: "])
def test_caused_by_lines_of_verror_and_pino_are_causes(link: str) -> None:
    text = (
        "Error: handler failed\n    at handle (/srv/api/src/h.js:3:9)\n"
        f"{link}TypeError: x is undefined\n    at read (/srv/api/src/r.js:1:5)\n    at handle (/srv/api/src/h.js:2:1)"
    )
    cause, main = parse_javascript(text)
    assert (cause["type"], [where(f) for f in frames(cause)]) == ("TypeError", [("handle", 2), ("read", 1)])
    assert (main["type"], [where(f) for f in frames(main)]) == ("Error", [("handle", 3)])


def test_firefox_and_safari_stack_has_no_header() -> None:
    [value] = parse_javascript(JS_FIREFOX)
    assert (value["type"], value["value"]) == ("Error", "")
    got = [(f["function"], f["filename"], f["lineno"], f["colno"], f["in_app"]) for f in frames(value)]
    assert got == [
        ("global code", "/static/js/boot.js", 2, None, True),
        ("forEach", "[native code]", None, None, False),
        (None, "debugger eval code", 1, 1, False),
        ("loadPage", "/static/js/main.js", 9, 3, True),
        ("renderUser", "/static/js/main.js", 2, 18734, True),
    ]


def test_uncaught_prefix_and_ports_in_urls() -> None:
    text = "Uncaught (in promise) RangeError: bad length\n    at grow (http://localhost:8080/app.js:10:5)"
    [value] = parse_javascript(text)
    assert (value["type"], value["value"]) == ("RangeError", "bad length")
    assert (frames(value)[0]["filename"], frames(value)[0]["lineno"]) == ("/app.js", 10)


# --- Dart ------------------------------------------------------------------------------------------


def test_dart_stack_trace() -> None:
    [value] = parse_dart(DART_TRACE)
    assert (value["type"], value["value"]) == ("FormatException", "Unexpected character (at character 1)")
    got = [(f["function"], f["module"], f["lineno"], f["colno"], f["in_app"]) for f in frames(value)]
    assert got == [
        ("main", None, 9, 3, True),
        ("StatefulElement.build", "flutter", 5592, 27, False),
        ("UserScreen.build.<anonymous closure>", "shop", 17, 3, True),
        ("ApiClient.fetchUser", "shop", 42, 7, True),
        ("_ChunkedJsonParser.fail", "dart:convert-patch", 1383, 5, False),
    ]
    assert frames(value)[3]["filename"] == "package:shop/src/api_client.dart"


def test_dart_terse_format() -> None:
    [value] = parse_dart(DART_TERSE)
    got = [(f["function"], f["filename"], f["lineno"], f["colno"], f["in_app"]) for f in frames(value)]
    assert got == [
        ("main", "package:shop/main.dart", 9, None, True),
        ("_CustomZone.runUnary", "dart:async", None, None, False),
        ("ApiClient.fetchUser", "package:shop/src/api_client.dart", 42, 7, True),
    ]


def test_flutter_logcat_output() -> None:
    [value] = parse_dart(FLUTTER_LOGCAT)
    assert (value["type"], value["value"]) == ("StateError", "Bad state: No element")
    assert [where(f) for f in frames(value)] == [("Cart.total", 12), ("ListBase.firstWhere", 167)]


def test_flutter_error_dump() -> None:
    [value] = parse_dart(FLUTTER_ERROR_DUMP)
    assert (value["type"], value["value"]) == ("_TypeError", "type 'Null' is not a subtype of type 'String'")
    assert [where(f) for f in frames(value)] == [("StatelessElement.build", 5550), ("ProfileCard.build", 22)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FormatException: Unexpected character", ("FormatException", "Unexpected character")),
        ("RangeError (index): Invalid value: 3", ("RangeError", "Invalid value: 3")),
        ("Bad state: No element", ("StateError", "Bad state: No element")),
        ("Null check operator used on a null value", ("TypeError", "Null check operator used on a null value")),
        ("something odd happened", ("Error", "something odd happened")),
    ],
)
def test_split_dart_error(text: str, expected: tuple[str, str]) -> None:
    assert split_dart_error(text) == expected
