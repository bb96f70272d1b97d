"""Grouping: which events share an issue, how issues are titled, and that v1's hashes never drift."""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import Transport

from collector import grouping
from collector.grouping import CURRENT_VERSION, Grouping, describe, fingerprint, group

# --- factories ------------------------------------------------------------------------------------------


def make_frame(
    function: Any = "checkout",
    module: Any = "app.views",
    *,
    filename: Any = None,
    lineno: int | None = 10,
    colno: int | None = None,
    in_app: bool | None = True,
    **extra: Any,
) -> dict[str, Any]:
    frame = {"function": function, "module": module, "filename": filename, "lineno": lineno, "colno": colno}
    return {**frame, "in_app": in_app, **extra}


def make_js_frame(function: Any, filename: str, *, lineno: int = 1, colno: int = 100, **extra: Any) -> dict:
    return make_frame(function, None, filename=filename, lineno=lineno, colno=colno, **extra)


def make_exception(type: Any = "ValueError", value: Any = "bad value", frames: list | None = None) -> dict:
    return {
        "type": type,
        "value": value,
        "module": None,
        "mechanism": {"type": "generic", "handled": True},
        "stacktrace": {"frames": frames} if frames is not None else None,
    }


def make_exception_event(
    type: Any = "ValueError",
    value: Any = "bad value",
    frames: list | None = None,
    *,
    platform: str = "python",
    causes: list[dict] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An error event; `causes` are earlier exceptions in the chain (oldest first), the main one comes last."""
    values = [*(causes or []), make_exception(type, value, frames)]
    return {"platform": platform, "level": "error", "exception": {"values": values}, **extra}


def make_message_event(formatted: str | None, template: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "platform": "python",
        "level": "error",
        "message": {"formatted": formatted, "message": template, "params": None},
        **extra,
    }


def checkout_frames(*, line: int = 10, charge_line: int = 30) -> list[dict]:
    return [
        make_frame("handle", "django.core.handlers.base", lineno=181, in_app=False),
        make_frame("checkout", "shop.views", lineno=line),
        make_frame("charge", "shop.payments", lineno=charge_line),
    ]


# --- what groups together and what stays apart --------------------------------------------------------

SAME_ISSUE = [
    pytest.param(
        make_exception_event(frames=checkout_frames(line=10, charge_line=30)),
        make_exception_event(frames=checkout_frames(line=14, charge_line=52)),
        id="deploy-shifted-line-numbers",
    ),
    pytest.param(
        make_exception_event(frames=[make_frame(lineno=3, colno=7, abs_path="/srv/releases/41/shop/views.py")]),
        make_exception_event(frames=[make_frame(lineno=9, colno=1, abs_path="/srv/releases/42/shop/views.py")]),
        id="columns-and-deploy-directory",
    ),
    pytest.param(
        make_exception_event("KeyError", "'user_id'", checkout_frames()),
        make_exception_event("KeyError", "'email'", checkout_frames()),
        id="value-does-not-count-when-there-are-frames",
    ),
    pytest.param(
        make_exception_event(frames=[*checkout_frames()[:2], make_frame("stripe.charge", "stripe", in_app=False)]),
        make_exception_event(frames=[*checkout_frames()[:2], make_frame("charge_v2", "stripe.api", in_app=False)]),
        id="library-frames-ignored-when-in-app-frames-exist",
    ),
    pytest.param(
        make_exception_event(frames=[make_frame("checkout"), make_frame("<listcomp>"), make_frame("parse")]),
        make_exception_event(frames=[make_frame("checkout"), make_frame("parse")]),
        id="python-comprehension-frame-inlined-by-3.12",
    ),
    pytest.param(
        make_exception_event(frames=[make_frame("checkout"), make_frame("<lambda>", lineno=4), make_frame("parse")]),
        make_exception_event(frames=[make_frame("checkout"), make_frame("<genexpr>", lineno=8), make_frame("parse")]),
        id="python-lambda-and-genexpr",
    ),
    pytest.param(
        make_exception_event(
            "TypeError",
            "x is undefined",
            [make_js_frame("Object.<anonymous>", "app.js"), make_js_frame("handleClick", "app.js")],
            platform="node",
        ),
        make_exception_event(
            "TypeError",
            "x is undefined",
            [make_js_frame("<anonymous>", "app.js"), make_js_frame("handleClick", "app.js")],
            platform="node",
        ),
        id="js-anonymous-functions",
    ),
    pytest.param(
        make_exception_event(
            "TypeError", "x", [make_js_frame("render", "https://cdn.shop.test/static/js/main.3f9a1c.js?v=1")]
        ),
        make_exception_event("TypeError", "x", [make_js_frame("render", "https://cdn.shop.test/js/main.8b7e2d.js")]),
        id="js-content-hash-in-bundle-name",
    ),
    pytest.param(
        make_exception_event("TypeError", "x", [make_js_frame("load", "/static/js/chunk-abc123.js")]),
        make_exception_event("TypeError", "x", [make_js_frame("load", "/static/js/chunk-def456.js")]),
        id="js-chunk-hash",
    ),
    pytest.param(
        make_exception_event("TypeError", "x", [make_js_frame("load", "/assets/index-B1xLZ3qa.js")]),
        make_exception_event("TypeError", "x", [make_js_frame("load", "/assets/index-Dk93HqZp.js")]),
        id="vite-hash",
    ),
    pytest.param(
        make_exception_event("TypeError", "x", [make_js_frame("Button", "webpack:///./src/components/Button.tsx")]),
        make_exception_event("TypeError", "x", [make_js_frame("Button", "webpack://shop/./src/components/Button.tsx")]),
        id="webpack-paths",
    ),
    pytest.param(
        make_exception_event("RuntimeException", "x", [make_frame("lambda$main$0", "com.shop.Main", in_app=True)]),
        make_exception_event("RuntimeException", "x", [make_frame("lambda$main$3", "com.shop.Main", in_app=True)]),
        id="java-lambda-methods",
    ),
    pytest.param(
        make_exception_event(
            "RuntimeException", "x", [make_frame("accept", "com.shop.Main$$Lambda$12/0x0000000800c03000")]
        ),
        make_exception_event("RuntimeException", "x", [make_frame("accept", "com.shop.Main$$Lambda$57/0x00007f3a1c")]),
        id="java-lambda-classes",
    ),
    pytest.param(
        make_exception_event(
            "IllegalStateException", "x", [make_frame("pay", "com.shop.Billing$$EnhancerBySpringCGLIB$$abc123")]
        ),
        make_exception_event(
            "IllegalStateException", "x", [make_frame("pay", "com.shop.Billing$$EnhancerBySpringCGLIB$$9f8e7d")]
        ),
        id="spring-cglib-proxy",
    ),
    pytest.param(
        make_exception_event(
            "LazyInitializationException", "x", [make_frame("getName", "com.shop.User$HibernateProxy$Xk29aB")]
        ),
        make_exception_event("LazyInitializationException", "x", [make_frame("getName", "com.shop.User")]),
        id="hibernate-proxy",
    ),
    pytest.param(
        make_exception_event("UndeclaredThrowableException", "x", [make_frame("invoke", "com.sun.proxy.$Proxy12")]),
        make_exception_event("UndeclaredThrowableException", "x", [make_frame("invoke", "com.sun.proxy.$Proxy57")]),
        id="jdk-dynamic-proxy",
    ),
    pytest.param(
        make_exception_event("NullPointerException", None, [make_frame("run", "com.shop.Worker$1")]),
        make_exception_event("NullPointerException", None, [make_frame("run", "com.shop.Worker$2")]),
        id="java-anonymous-class-renumbered",
    ),
    pytest.param(
        make_exception_event("Exception", "x", [make_frame("App\\Cart::{closure}", None, filename="src/Cart.php")]),
        make_exception_event(
            "Exception", "x", [make_frame("{closure:App\\Cart::total():41}", None, filename="src/Cart.php")]
        ),
        id="php-closures",
    ),
    pytest.param(
        make_exception_event(
            "StateError", "x", [make_frame("Cart.total.<anonymous closure>", "package:shop/cart.dart")]
        ),
        make_exception_event("StateError", "x", [make_frame("<anonymous closure>", "package:shop/cart.dart")]),
        id="dart-closures",
    ),
    pytest.param(
        make_exception_event("SIGSEGV", "x", [make_frame("render", None, filename="app"), make_frame("0x7ffe3a2b10")]),
        make_exception_event("SIGSEGV", "x", [make_frame("render", None, filename="app"), make_frame("0x7ffe99c400")]),
        id="native-hex-addresses",
    ),
    pytest.param(
        make_exception_event(
            "RecursionError", "x", [make_frame("main"), *[make_frame("walk")] * 3, make_frame("visit")]
        ),
        make_exception_event(
            "RecursionError", "x", [make_frame("main"), *[make_frame("walk")] * 9, make_frame("visit")]
        ),
        id="recursion-depth",
    ),
    pytest.param(
        make_exception_event("RecursionError", "x", [make_frame("main"), *[make_frame("a"), make_frame("b")] * 2]),
        make_exception_event("RecursionError", "x", [make_frame("main"), *[make_frame("a"), make_frame("b")] * 7]),
        id="mutual-recursion-depth",
    ),
    pytest.param(
        make_exception_event(frames=checkout_frames(), causes=[make_exception("TimeoutError", "read timed out")]),
        make_exception_event(
            frames=checkout_frames(), causes=[make_exception("ConnectionRefusedError", "[Errno 111]")]
        ),
        id="chained-causes-left-out",
    ),
    pytest.param(
        make_exception_event("OSError", "[Errno 24] Too many open files: '/tmp/a.lock'", None),
        make_exception_event("OSError", "[Errno 24] Too many open files: '/var/b.lock'", None),
        id="no-frames-value-parameters-stripped",
    ),
    pytest.param(
        make_message_event("Payment failed: card expired", template="Payment failed: %s"),
        make_message_event("Payment failed: insufficient funds", template="Payment failed: %s"),
        id="message-template-over-formatted-text",
    ),
    pytest.param(
        make_message_event("Cart 1234 has 3 items"),
        make_message_event("Cart 99 has 17 items"),
        id="message-numbers",
    ),
    pytest.param(
        make_message_event("price -12.50 rejected"),
        make_message_event("price 7.25 rejected"),
        id="message-decimals",
    ),
    pytest.param(
        make_message_event("order 550e8400-e29b-41d4-a716-446655440000 not found"),
        make_message_event("order 6ba7b810-9dad-11d1-80b4-00c04fd430c8 not found"),
        id="message-uuids",
    ),
    pytest.param(
        make_message_event("commit 3f9a1c7d0b lost, pointer 0x7ffe1234"),
        make_message_event("commit a81be0c2d9 lost, pointer 0x1a2b"),
        id="message-hex",
    ),
    pytest.param(
        make_message_event("cannot mail ann.lee+shop@example.com"),
        make_message_event("cannot mail bob@mail.example.org"),
        id="message-emails",
    ),
    pytest.param(
        make_message_event("GET https://api.shop.test/v1/orders/17?expand=items failed"),
        make_message_event("GET http://10.0.0.5:8080/health failed"),
        id="message-urls",
    ),
    pytest.param(
        make_message_event("connect 10.0.0.1:5432 refused"),
        make_message_event("connect 192.168.11.254:6543 refused"),
        id="message-ipv4",
    ),
    pytest.param(
        make_message_event("peer 2001:db8::ff00:42:8329 reset"),
        make_message_event("peer fe80::1%eth0 reset"),
        id="message-ipv6",
    ),
    pytest.param(
        make_message_event("unknown field 'colour' in \"cart\""),
        make_message_event("unknown field 'size' in \"wishlist\""),
        id="message-quoted-strings",
    ),
    pytest.param(
        make_message_event("job started 2024-03-01T10:20:30.123Z overran"),
        make_message_event("job started 2025-11-30 23:59:59+02:00 overran"),
        id="message-iso-timestamps",
    ),
    pytest.param(
        make_message_event("no rates for 2024-03-01"),
        make_message_event("no rates for 1999-12-31"),
        id="message-dates",
    ),
    pytest.param(
        make_message_event("disk  full\n\ton   db-1"),
        make_message_event("disk full on db-2"),
        id="message-whitespace",
    ),
    pytest.param(
        make_exception_event("ValueError", "x", checkout_frames(), fingerprint=["payment-gateway"]),
        make_exception_event("TimeoutError", "y", [make_frame("poll", "shop.jobs")], fingerprint=["payment-gateway"]),
        id="sdk-fingerprint-overrides-everything",
    ),
    pytest.param(
        make_exception_event(frames=checkout_frames(), fingerprint=["{{ default }}"]),
        make_exception_event(frames=checkout_frames(line=99)),
        id="sdk-fingerprint-default-alone-is-the-default",
    ),
    pytest.param(
        make_exception_event(frames=checkout_frames(), fingerprint=["{{default}}", "eu"]),
        make_exception_event(frames=checkout_frames(line=50), fingerprint=["{{ default }}", "eu"]),
        id="sdk-fingerprint-default-spacing",
    ),
]

SEPARATE_ISSUES = [
    pytest.param(
        make_exception_event(frames=[make_frame("checkout", "shop.views"), make_frame("charge", "shop.payments")]),
        make_exception_event(frames=[make_frame("refund", "shop.views"), make_frame("charge", "shop.payments")]),
        id="two-call-sites-same-type",
    ),
    pytest.param(
        make_exception_event("ValueError", "x", checkout_frames()),
        make_exception_event("TypeError", "x", checkout_frames()),
        id="different-types",
    ),
    pytest.param(
        make_exception_event(frames=[make_frame("checkout", "shop.views")]),
        make_exception_event(frames=[make_frame("checkout", "admin.views")]),
        id="same-function-other-module",
    ),
    pytest.param(
        make_exception_event("TypeError", "x", [make_js_frame("render", "/js/cart.3f9a1c.js")]),
        make_exception_event("TypeError", "x", [make_js_frame("render", "/js/checkout.3f9a1c.js")]),
        id="js-different-bundles",
    ),
    pytest.param(
        make_exception_event(
            "RuntimeException", "x", [make_frame("pay", "com.shop.Billing$$EnhancerBySpringCGLIB$$abc")]
        ),
        make_exception_event(
            "RuntimeException", "x", [make_frame("refund", "com.shop.Billing$$EnhancerBySpringCGLIB$$abc")]
        ),
        id="java-proxy-different-methods",
    ),
    pytest.param(
        make_exception_event(frames=checkout_frames(), causes=[make_exception("TimeoutError", "t")]),
        make_exception_event("TimeoutError", "t", checkout_frames(), causes=[make_exception("ValueError", "v")]),
        id="main-exception-is-the-last",
    ),
    pytest.param(
        make_exception_event("OSError", "Connection refused", None),
        make_exception_event("OSError", "Permission denied", None),
        id="no-frames-different-values",
    ),
    pytest.param(
        make_exception_event("ValueError", "x", None),
        make_message_event("x"),
        id="exception-versus-message",
    ),
    pytest.param(
        make_message_event("Payment 12 failed", template="Payment %s failed"),
        make_message_event("Payment 12 declined", template="Payment %s declined"),
        id="different-message-templates",
    ),
    pytest.param(
        make_message_event("cache miss on users"),
        make_message_event("cache miss on orders"),
        id="different-message-words",
    ),
    pytest.param(
        make_exception_event(frames=checkout_frames(), fingerprint=["{{ default }}", "tenant-a"]),
        make_exception_event(frames=checkout_frames(), fingerprint=["{{ default }}", "tenant-b"]),
        id="sdk-fingerprint-splits-default",
    ),
    pytest.param(
        make_exception_event(frames=checkout_frames(), fingerprint=["custom"]),
        make_exception_event(frames=checkout_frames()),
        id="sdk-fingerprint-literal-is-not-default",
    ),
    pytest.param(
        make_exception_event(frames=checkout_frames(), fingerprint=["{{ transaction }}"], transaction="/cart"),
        make_exception_event(frames=checkout_frames(), fingerprint=["{{ transaction }}"], transaction="/pay"),
        id="sdk-fingerprint-variable",
    ),
]


@pytest.mark.parametrize(("first", "second"), SAME_ISSUE)
def test_events_that_share_an_issue(first: dict, second: dict) -> None:
    assert fingerprint(first) == fingerprint(second)


@pytest.mark.parametrize(("first", "second"), SEPARATE_ISSUES)
def test_events_that_stay_apart(first: dict, second: dict) -> None:
    assert fingerprint(first) != fingerprint(second)


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(make_exception_event(frames=checkout_frames())))


def test_components_show_what_counts() -> None:
    event = make_exception_event(
        frames=[*checkout_frames(), make_frame("<lambda>", "shop.payments")],
        causes=[make_exception("TimeoutError", "t")],
    )
    assert grouping.components(event) == [
        ("type", "ValueError"),
        ("frame", "shop.views", "checkout"),
        ("frame", "shop.payments", "charge"),
    ]


def test_exception_module_qualifies_the_type_but_builtins_do_not() -> None:
    builtin = make_exception_event(frames=checkout_frames())
    builtin["exception"]["values"][-1]["module"] = "builtins"
    custom = make_exception_event(frames=checkout_frames())
    custom["exception"]["values"][-1]["module"] = "shop.errors"
    assert fingerprint(builtin) == fingerprint(make_exception_event(frames=checkout_frames()))
    assert grouping.components(custom)[0] == ("type", "shop.errors.ValueError")


def test_all_frames_count_when_none_is_in_app() -> None:
    library = [make_frame("get", "requests.api", in_app=False), make_frame("send", "requests.adapters", in_app=False)]
    other = [make_frame("get", "requests.api", in_app=False), make_frame("recv", "urllib3.connection", in_app=False)]
    assert fingerprint(make_exception_event(frames=library)) != fingerprint(make_exception_event(frames=other))


def test_anonymous_frames_still_count_when_no_frame_is_named() -> None:
    first = make_exception_event("TypeError", "x", [make_js_frame("<anonymous>", "cart.js")], platform="javascript")
    second = make_exception_event(
        "TypeError", "x", [make_js_frame("<anonymous>", "checkout.js")], platform="javascript"
    )
    assert grouping.components(first)[1:] == [("frame", "cart.js", "")]
    assert fingerprint(first) != fingerprint(second)


def test_sdk_fingerprint_expands_default_where_it_stands() -> None:
    event = make_exception_event(frames=[make_frame("charge", "shop.payments")], fingerprint=["eu", "{{ default }}"])
    assert grouping.components(event) == [
        ("fingerprint", "eu"),
        ("type", "ValueError"),
        ("frame", "shop.payments", "charge"),
    ]


def test_sdk_fingerprint_variables_and_unknown_ones() -> None:
    event = make_exception_event(
        "DatabaseError",
        "locked",
        [make_frame("save", "shop.models")],
        fingerprint=["{{ error.type }}", "{{ tags.Region }}", "{{ no.such.thing }}", None, 7],
        tags={"Region": "eu-west"},
    )
    assert grouping.components(event) == [
        ("variable", "error.type", "DatabaseError"),
        ("variable", "tags.region", "eu-west"),
        ("fingerprint", "{{ no.such.thing }}"),
        ("fingerprint", "7"),
    ]


def test_component_hashing_is_unambiguous() -> None:
    assert grouping.hash_components([("a:b", "c")]) != grouping.hash_components([("a", "b:c")])
    assert grouping.hash_components([("ab",)]) != grouping.hash_components([("a",), ("b",)])
    assert grouping.hash_components([("\ud800",)]) != grouping.hash_components([("?",)])  # lone surrogate


def test_empty_sdk_fingerprint_means_default() -> None:
    event = make_exception_event(frames=checkout_frames())
    assert fingerprint({**event, "fingerprint": []}) == fingerprint(event)
    assert fingerprint({**event, "fingerprint": [None]}) == fingerprint(event)


# --- version pinning ------------------------------------------------------------------------------------

GOLDEN_EVENT = make_exception_event(
    "ValueError",
    "card 4242 declined",
    [
        make_frame("handle", "django.core.handlers.base", lineno=181, in_app=False),
        make_frame("checkout", "shop.views", lineno=10),
        make_frame("<lambda>", "shop.views", lineno=12),
        make_frame("charge", "shop.payments", lineno=30),
    ],
)
# If this changes, v1 changed: every stored issue would silently split. Make a v2 instead.
GOLDEN_V1_HASH = "ebd1d2c96ca915adb65e232e6af53d9b307b57a86a23abcfc78a5adff0095a29"


def test_v1_fingerprint_is_pinned() -> None:
    assert fingerprint(GOLDEN_EVENT, version=1) == GOLDEN_V1_HASH
    assert fingerprint(GOLDEN_EVENT) == fingerprint(GOLDEN_EVENT, version=CURRENT_VERSION)


# The same bug as Chrome (V8: methods named with their receiver) and Firefox report it, through @sentry/browser.
def _cart_bug(render: str, load: str, platform: str = "javascript") -> dict[str, Any]:
    frames = [
        make_js_frame(None, "https://shop.test/assets/app.3f9a1c.js", lineno=3),
        make_js_frame("checkout", "https://shop.test/assets/app.3f9a1c.js", lineno=9),
        make_js_frame(load, "https://shop.test/assets/app.3f9a1c.js", lineno=20),
        make_js_frame(render, "https://shop.test/assets/app.3f9a1c.js", lineno=31),
    ]
    return make_exception_event("TypeError", "cart is undefined", frames, platform=platform)


CHROME_CART_BUG = _cart_bug("CartView.render", "Object.load")
FIREFOX_CART_BUG = _cart_bug("render", "load")
# If this changes, v2 changed once released: make a v3 instead.
GOLDEN_V2_HASH = "6e2030c86e647e5b66e36e556830b17b92abf6ffca5baf1702bf99fed92119cd"


def test_v2_groups_a_javascript_method_by_its_own_name_as_every_browser_names_it() -> None:
    assert CURRENT_VERSION == 2
    assert fingerprint(CHROME_CART_BUG, version=2) == fingerprint(FIREFOX_CART_BUG, version=2) == GOLDEN_V2_HASH
    assert grouping.components(CHROME_CART_BUG, version=2)[1:] == [
        ("frame", "app.js", "checkout"),
        ("frame", "app.js", "load"),
        ("frame", "app.js", "render"),
    ]
    # Under v1, which projects made before v2 keep, the two browsers made two errors of one bug.
    assert fingerprint(CHROME_CART_BUG, version=1) != fingerprint(FIREFOX_CART_BUG, version=1)
    # Node.js is V8 too: the same rule.
    node = _cart_bug("CartView.render", "Object.load", platform="node")
    assert fingerprint(node, version=2) == fingerprint(_cart_bug("render", "load", platform="node"), version=2)


def test_v2_groups_everything_else_exactly_as_v1() -> None:
    dotted = make_exception_event("KeyError", "sku", [make_frame("Cart.total", "shop.cart")])  # not JavaScript
    anonymous = _cart_bug("Object.<anonymous>", "HTMLButtonElement.<anonymous>")
    for event in (GOLDEN_EVENT, dotted, anonymous, make_message_event("Payment 42 failed for bob@example.com")):
        assert fingerprint(event, version=2) == fingerprint(event, version=1), event
    assert grouping.components(dotted, version=2)[1] == ("frame", "shop.cart", "Cart.total")
    fingerprinted = {**CHROME_CART_BUG, "fingerprint": ["{{ default }}", "{{ function }}"]}
    assert grouping.components(fingerprinted, version=2)[-1] == ("variable", "function", "render")


def test_message_fingerprint_is_pinned() -> None:
    event = make_message_event("Payment 42 failed for bob@example.com")
    assert grouping.components(event, version=1) == [("message", "Payment <num> failed for <email>")]


@pytest.mark.parametrize("version", [0, 3, "1", True, None])
def test_unknown_version_is_a_clear_error(version: Any) -> None:
    with pytest.raises(ValueError, match="unknown grouping version"):
        fingerprint(GOLDEN_EVENT, version=version)


@pytest.mark.parametrize("event", ["{}", None, [GOLDEN_EVENT]])
def test_non_dict_event_is_a_clear_error(event: Any) -> None:
    with pytest.raises(TypeError, match="an event must be a dict"):
        fingerprint(event)
    with pytest.raises(TypeError, match="an event must be a dict"):
        describe(event)


def test_group_returns_everything_at_once() -> None:
    result = group(GOLDEN_EVENT)
    assert result == Grouping(
        fingerprint=GOLDEN_V1_HASH,  # no JavaScript: the same under v2
        version=2,
        title="ValueError: card 4242 declined",
        culprit="shop.payments in charge",
        exception_type="ValueError",
        components=(
            ("type", "ValueError"),
            ("frame", "shop.views", "checkout"),
            ("frame", "shop.payments", "charge"),
        ),
    )
    assert group(make_message_event("hello")).exception_type is None


# --- title and culprit ----------------------------------------------------------------------------------

LONG_VALUE = "x" * 500

DESCRIPTIONS = [
    pytest.param(
        make_exception_event("ValueError", "card declined", checkout_frames()),
        ("ValueError: card declined", "shop.payments in charge"),
        id="python",
    ),
    pytest.param(
        make_exception_event("ValueError", "first line\nsecond line", checkout_frames()),
        ("ValueError: first line", "shop.payments in charge"),
        id="first-line-of-value",
    ),
    pytest.param(
        make_exception_event("ValueError", "\n  \nreal line", checkout_frames()),
        ("ValueError: real line", "shop.payments in charge"),
        id="leading-blank-lines",
    ),
    pytest.param(
        make_exception_event("KeyboardInterrupt", "", checkout_frames()),
        ("KeyboardInterrupt", "shop.payments in charge"),
        id="type-alone-without-value",
    ),
    pytest.param(
        make_exception_event("ValueError", None, checkout_frames()),
        ("ValueError", "shop.payments in charge"),
        id="type-alone-with-none-value",
    ),
    pytest.param(
        make_exception_event("ValueError", LONG_VALUE, checkout_frames()),
        ("ValueError: " + "x" * (200 - len("ValueError: ") - 3) + "...", "shop.payments in charge"),
        id="long-value-truncated",
    ),
    pytest.param(
        make_exception_event(None, "went wrong", checkout_frames()),
        ("Error: went wrong", "shop.payments in charge"),
        id="missing-type",
    ),
    pytest.param(
        make_exception_event("StatusError", 503, checkout_frames()),
        ("StatusError: 503", "shop.payments in charge"),
        id="non-string-value",
    ),
    pytest.param(
        make_exception_event(
            "ValueError",
            "x",
            [make_frame("view", "shop.views"), make_frame("loads", "json", in_app=False)],
        ),
        ("ValueError: x", "shop.views in view"),
        id="culprit-is-most-recent-in-app-frame",
    ),
    pytest.param(
        make_exception_event(
            "ValueError",
            "x",
            [make_frame("get", "requests.api", in_app=False), make_frame("send", "requests.adapters", in_app=False)],
        ),
        ("ValueError: x", "requests.adapters in send"),
        id="culprit-without-in-app-frames",
    ),
    pytest.param(
        make_exception_event(
            "TypeError",
            "Cannot read properties of undefined (reading 'id')",
            [make_js_frame("main", "app:///main.js"), make_js_frame("handleClick", "app:///components/Cart.js")],
            platform="javascript",
        ),
        ("TypeError: Cannot read properties of undefined (reading 'id')", "handleClick(app:///components/Cart.js)"),
        id="javascript",
    ),
    pytest.param(
        make_exception_event(
            "Exception",
            "Cart is empty",
            [make_frame("App\\Http\\CheckoutController::store", None, filename="app/Http/CheckoutController.php")],
            platform="php",
        ),
        ("Exception: Cart is empty", "app/Http/CheckoutController.php in App\\Http\\CheckoutController::store"),
        id="php",
    ),
    pytest.param(
        make_exception_event(
            "EXC_BAD_ACCESS", "crash", [make_frame("-[Cart total]", None, filename="Cart.m")], platform="cocoa"
        ),
        ("EXC_BAD_ACCESS: crash", "-[Cart total]"),
        id="native",
    ),
    pytest.param(
        make_exception_event("ValueError", "x", checkout_frames(), transaction="/checkout"),
        ("ValueError: x", "shop.payments in charge"),
        id="frame-culprit-before-transaction",
    ),
    pytest.param(
        make_exception_event("ValueError", "x", None, transaction="/checkout"),
        ("ValueError: x", "/checkout"),
        id="transaction-when-no-frames",
    ),
    pytest.param(
        make_exception_event("ValueError", "x", None, request={"url": "https://shop.test/cart"}),
        ("ValueError: x", "https://shop.test/cart"),
        id="request-url-as-last-resort",
    ),
    pytest.param(
        {
            "platform": "javascript",
            "exception": {
                "values": [
                    {
                        "type": "Error",
                        "value": "captured",
                        "mechanism": {"type": "generic", "synthetic": True},
                        "stacktrace": {"frames": [make_js_frame("submitOrder", "app.js")]},
                    }
                ]
            },
        },
        ("submitOrder", None),
        id="synthetic-exception",
    ),
    pytest.param(
        {
            "platform": "javascript",
            "exception": {
                "values": [
                    {
                        "type": "Error",
                        "mechanism": {"type": "generic", "synthetic": True},
                        "stacktrace": {
                            "frames": [make_js_frame("submitOrder", "app.js"), make_js_frame("?", "app.js")]
                        },
                    }
                ]
            },
        },
        ("submitOrder", None),
        id="synthetic-exception-crashing-in-an-anonymous-function",
    ),
    pytest.param(
        make_message_event("Payment 42 failed\nTraceback...", template="Payment %s failed", transaction="/pay"),
        ("Payment 42 failed", "/pay"),
        id="message-with-transaction",
    ),
    pytest.param(
        make_message_event("Disk almost full", logger="shop.monitor"),
        ("Disk almost full", "shop.monitor"),
        id="message-with-logger",
    ),
    pytest.param(
        make_message_event(None, template="Disk %s almost full"),
        ("Disk %s almost full", None),
        id="message-template-only",
    ),
    pytest.param(
        make_message_event("m" * 300),
        ("m" * 197 + "...", None),
        id="message-truncated",
    ),
    pytest.param({"message": "plain string message"}, ("plain string message", None), id="raw-message-string"),
    pytest.param({"logentry": {"message": "Retry %d", "formatted": "Retry 3"}}, ("Retry 3", None), id="raw-logentry"),
    pytest.param({}, ("<unlabeled event>", None), id="nothing-at-all"),
]


@pytest.mark.parametrize(("event", "expected"), DESCRIPTIONS)
def test_title_and_culprit(event: dict, expected: tuple[str, str | None]) -> None:
    assert describe(event) == expected


def test_title_never_longer_than_200() -> None:
    title, _ = describe(make_exception_event("E" * 400, LONG_VALUE, checkout_frames()))
    assert len(title) <= 200


# --- odd but well-typed input ---------------------------------------------------------------------------

ODD_EVENTS = [
    {},
    {"exception": None},
    {"exception": []},
    {"exception": {"values": None}},
    {"exception": {"values": [None, 3, "x"]}},
    {"exception": {"values": [{}]}},
    {"exception": {"values": [{"type": None, "value": {"nested": 1}}]}},
    {"exception": {"values": [{"type": "X", "stacktrace": {"frames": "not a list"}}]}},
    {"exception": {"values": [{"type": "X", "stacktrace": None, "mechanism": "weird"}]}},
    {"exception": {"values": [{"type": "X", "stacktrace": {"frames": [None, 5, {}, {"function": 12, "module": 3}]}}]}},
    {"exception": {"values": [{"type": 3, "value": True, "stacktrace": {"frames": [{"function": None}]}}]}},
    {"exception": {"values": [{"type": "X", "stacktrace": {"frames": [{"function": "<lambda>", "filename": None}]}}]}},
    {"exception": {"values": [{"type": "X", "stacktrace": {"frames": [{"function": ["list"], "abs_path": {}}]}}]}},
    {"message": None},
    {"message": {"formatted": None, "message": 5}},
    {"message": {"formatted": ["x"], "message": None}},
    {"message": ""},
    {"logentry": "string"},
    {"fingerprint": [None, 3, "{{ default }}"]},
    {"fingerprint": "single"},
    {"fingerprint": {"not": "a list"}},
    {"fingerprint": ["{{ tags.x }}", "{{ function }}", "{{ message }}"], "tags": ["bad", ["x", 1]]},
    {"fingerprint": ["{{ error.value }}", "{{ module }}"], "exception": {"values": [{"type": "X", "value": None}]}},
    {"threads": {"values": [None, {"stacktrace": {"frames": [{}]}, "crashed": True}]}},
    {"threads": "none", "request": "not a dict", "transaction": 5, "logger": ["x"], "culprit": None},
    {
        "platform": 5,
        "exception": {"values": [{"type": "X", "stacktrace": {"frames": [{"function": "f", "platform": 1}]}}]},
    },
]


@pytest.mark.parametrize("event", ODD_EVENTS)
def test_odd_events_never_raise(event: dict) -> None:
    result = group(event)
    assert re.fullmatch(r"[0-9a-f]{64}", result.fingerprint)
    assert isinstance(result.title, str) and result.title
    assert result.culprit is None or isinstance(result.culprit, str)


# --- events as the real Python SDK sends them -----------------------------------------------------------

SHOP_SOURCE = """
def charge(amount):
    raise ValueError(f"card declined for amount {amount}")


def checkout(amount):
    return charge(amount)


def refund(amount):
    return charge(-amount)
"""


class CapturingTransport(Transport):
    """Keeps the events the SDK would send, as the JSON-ready dicts that go on the wire."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture
def sdk_events(tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    transport = CapturingTransport()
    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",
        transport=transport,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)],
        project_root=str(tmp_path),  # the "deployed" shop modules below are the app; the test is not
    )
    try:
        yield transport.events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def deploy_shop(root: Path, release: str, *, blank_lines_before: int = 0) -> ModuleType:
    """The module `shop` as deployed in one release directory; extra lines shift every line number."""
    path = root / release / "shop.py"
    path.parent.mkdir(parents=True)
    path.write_text("\n" * blank_lines_before + SHOP_SOURCE)
    spec = importlib.util.spec_from_file_location("shop", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def capture_error(call: Callable[[], Any]) -> None:
    try:
        call()
    except ValueError as error:
        sentry_sdk.capture_exception(error)


def main_frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    return event["exception"]["values"][-1]["stacktrace"]["frames"]


def test_sdk_events_group_by_call_site_not_line(sdk_events: list[dict], tmp_path: Path) -> None:
    release_1 = deploy_shop(tmp_path, "release-1")
    release_2 = deploy_shop(tmp_path, "release-2", blank_lines_before=7)

    capture_error(lambda: release_1.checkout(10))
    capture_error(lambda: release_2.checkout(25))
    capture_error(lambda: release_1.refund(10))
    sentry_sdk.flush()

    before, after, refund = sdk_events
    assert main_frames(before)[-1]["lineno"] != main_frames(after)[-1]["lineno"]
    assert main_frames(before)[-1]["function"] == "charge" and main_frames(before)[-1]["in_app"] is True
    assert fingerprint(before) == fingerprint(after)
    assert fingerprint(before) != fingerprint(refund)
    assert describe(before) == ("ValueError: card declined for amount 10", "shop in charge")
    assert grouping.components(refund) == [
        ("type", "ValueError"),
        ("frame", "shop", "refund"),
        ("frame", "shop", "charge"),
    ]


def test_sdk_messages_group_by_template(sdk_events: list[dict]) -> None:
    log = logging.getLogger("shop.payments")
    log.error("Payment %s failed for %s", 1234, "ann@example.com")
    log.error("Payment %s failed for %s", 7, "bob@example.org")
    log.error("Refund %s failed", 7)
    sentry_sdk.capture_message("Cart 981 expired after 30 minutes")
    sentry_sdk.capture_message("Cart 17 expired after 45 minutes")
    sentry_sdk.flush()

    first, second, refund, cart_a, cart_b = sdk_events
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(refund)
    assert describe(first) == ("Payment 1234 failed for ann@example.com", "shop.payments")
    assert fingerprint(cart_a) == fingerprint(cart_b)
    assert describe(cart_a) == ("Cart 981 expired after 30 minutes", None)


def _synthetic_message(text: str) -> dict[str, Any]:
    """What @sentry/browser sends for captureMessage: the text, and a stack carried by a synthetic exception."""
    frames = [make_js_frame("?", "https://shop.test/app.js", lineno=7), make_js_frame("?", "https://shop.test/app.js")]
    exception = {**make_exception(None, text, frames), "mechanism": {"type": "generic", "synthetic": True}}
    return {
        "platform": "javascript",
        "level": "warning",
        "message": {"formatted": text},
        "exception": {"values": [exception]},
    }


def test_v2_groups_a_message_with_a_synthetic_stack_as_the_message_and_titles_it_by_its_text() -> None:
    coupon, other_coupon = _synthetic_message("Coupon 4411 rejected"), _synthetic_message("Coupon 5120 rejected")
    payment = _synthetic_message("Payment provider timed out")
    assert fingerprint(coupon, version=2) == fingerprint(other_coupon, version=2) != fingerprint(payment, version=2)
    assert grouping.components(coupon, version=2) == [("message", "Coupon <num> rejected")]
    assert fingerprint(coupon, version=1) == fingerprint(payment, version=1)  # v1: the stack's location alone
    assert group(payment).title == "Payment provider timed out"


def test_v2_leaves_out_javascript_frames_without_source_of_their_own() -> None:
    chrome = _cart_bug("CartView.render", "Object.load")
    frames = chrome["exception"]["values"][-1]["stacktrace"]["frames"]
    frames.append(make_js_frame("JSON.parse", "<anonymous>"))  # V8 lists the built-in; Firefox does not
    frames.insert(0, make_js_frame("eval", "https://shop.test/assets/app.3f9a1c.js"))
    assert fingerprint(chrome, version=2) == fingerprint(FIREFOX_CART_BUG, version=2)
    # And the culprit is the page's code that called the built-in, not the built-in.
    assert describe(chrome)[1] == "CartView.render(https://shop.test/assets/app.3f9a1c.js)"
    assert fingerprint(chrome, version=1) != fingerprint(_cart_bug("CartView.render", "Object.load"), version=1)
