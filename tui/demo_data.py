"""The demo's make-believe company: five services on five stacks, their errors, and the people on call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DemoError:
    """One kind of failure of a service, sent `count` times from `users` different users."""

    key: str
    payload: dict[str, Any]  # a Sentry event, or the service's webhook body
    count: int
    users: int
    level: str = "error"


@dataclass(frozen=True)
class DemoService:
    name: str
    platform: str
    via: str  # "sentry" (an SDK's envelope) or a webhook kind
    release: str
    errors: list[DemoError] = field(default_factory=list)


DEVELOPERS = [
    {"name": "Ana Lima", "email": "ana@example.com", "ntfy_topic": "ana-oncall", "timezone": "Europe/Lisbon"},
    {"name": "Ben Okafor", "email": "ben@example.com", "ntfy_topic": "ben-oncall", "timezone": "Africa/Lagos"},
    {"name": "Chen Wei", "email": "chen@example.com", "ntfy_topic": "chen-oncall", "timezone": "Asia/Singapore"},
    {"name": "Dana Kowalski", "email": "dana@example.com", "ntfy_topic": "dana-oncall", "timezone": "Europe/Warsaw"},
    {"name": "Eli Navarro", "email": "eli@example.com", "timezone": "America/Mexico_City"},
]


def _py_frame(filename: str, function: str, lineno: int, lines: list[str], in_app: bool = True, **vars_: Any) -> dict:
    # `lines` are the source around the line: the middle one is the line itself.
    middle = len(lines) // 2
    frame: dict[str, Any] = {
        "filename": filename,
        "abs_path": f"/srv/app/{filename}",
        "module": filename.removesuffix(".py").replace("/", "."),
        "function": function,
        "lineno": lineno,
        "in_app": in_app,
        "pre_context": lines[:middle],
        "context_line": lines[middle],
        "post_context": lines[middle + 1 :],
    }
    if vars_:
        frame["vars"] = {k: repr(v) for k, v in vars_.items()}
    return frame


def _java_frame(class_name: str, method: str, file_name: str, line: int) -> dict[str, Any]:
    return {"className": class_name, "methodName": method, "fileName": file_name, "lineNumber": line}


def _exception(type_: str, value: str, frames: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"type": type_, "value": value, "stacktrace": {"frames": frames}, **fields}


def _sentry(platform: str, level: str, *values: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Sentry event; `values` oldest first, as SDKs send them (the main exception last)."""
    return {"platform": platform, "level": level, "exception": {"values": list(values)}, **fields}


def _js_frame(filename: str, function: str, lineno: int, colno: int, lines: list[str], in_app: bool = True) -> dict:
    middle = len(lines) // 2
    return {
        "filename": filename,
        "function": function,
        "lineno": lineno,
        "colno": colno,
        "in_app": in_app,
        "pre_context": lines[:middle],
        "context_line": lines[middle],
        "post_context": lines[middle + 1 :],
    }


BILLING = DemoService(
    "billing-worker",
    "python",
    "sentry",
    "billing@2.14.0",
    [
        DemoError(
            "db-timeout",
            _sentry(
                "python",
                "fatal",
                _exception(
                    "OperationalError",
                    'connection to server at "db.internal" (10.0.3.7), port 5432 failed: timeout expired',
                    [
                        _py_frame(
                            "billing/jobs.py",
                            "charge_subscriptions",
                            88,
                            [
                                "    due = subscriptions.due(today)",
                                "    for batch in chunks(due, 100):",
                                "        with connect() as conn:",
                                "            charge_batch(conn, batch)",
                                "",
                            ],
                            batch_size=100,
                        ),
                        _py_frame(
                            "billing/db.py",
                            "connect",
                            21,
                            [
                                "def connect():",
                                "    return psycopg.connect(",
                                "        settings.DATABASE_URL, connect_timeout=5",
                                "    )",
                            ],
                        ),
                        _py_frame(
                            "psycopg/connection.py",
                            "connect",
                            748,
                            ["        if not rv:", "            raise last_ex.with_traceback(None)", ""],
                            in_app=False,
                        ),
                    ],
                    module="psycopg",
                    mechanism={"type": "logging", "handled": False},
                ),
                logger="billing.jobs",
                transaction="jobs.charge_subscriptions",
                breadcrumbs={
                    "values": [
                        {"category": "job", "message": "charge_subscriptions started", "level": "info"},
                        {"category": "query", "message": "SELECT * FROM subscriptions WHERE due <= %s"},
                        {"category": "db", "message": "connection attempt 1 timed out", "level": "warning"},
                        {"category": "db", "message": "connection attempt 2 timed out", "level": "error"},
                    ]
                },
                contexts={"runtime": {"name": "CPython", "version": "3.12.3"}, "os": {"name": "Linux"}},
                tags={"queue": "billing", "region": "eu-west-1"},
            ),
            count=14,
            users=1,
            level="fatal",
        ),
        DemoError(
            "missing-currency",
            _sentry(
                "python",
                "error",
                _exception(
                    "KeyError",
                    "'currency'",
                    [
                        _py_frame(
                            "billing/invoices.py",
                            "render_invoice",
                            57,
                            [
                                "def render_invoice(invoice):",
                                "    totals = invoice.totals()",
                                "    symbol = CURRENCIES[invoice.meta['currency']]",
                                "    return template.render(invoice=invoice, symbol=symbol)",
                            ],
                            invoice_id=88213,
                        )
                    ],
                ),
                _exception(
                    "InvoiceRenderError",
                    "invoice 88213 could not be rendered",
                    [
                        _py_frame(
                            "billing/jobs.py",
                            "send_invoices",
                            131,
                            [
                                "        try:",
                                "            pdf = render_invoice(invoice)",
                                "        except KeyError as exc:",
                                "            raise InvoiceRenderError(invoice.id) from exc",
                                "",
                            ],
                        )
                    ],
                ),
                transaction="jobs.send_invoices",
                tags={"queue": "invoices"},
            ),
            count=9,
            users=6,
        ),
        DemoError(
            "bad-int",
            _sentry(
                "python",
                "warning",
                _exception(
                    "ValueError",
                    "invalid literal for int() with base 10: 'N/A'",
                    [
                        _py_frame(
                            "billing/importers/csv.py",
                            "parse_row",
                            34,
                            [
                                "    sku = row['sku'].strip()",
                                "    quantity = int(row['quantity'])",
                                "    return LineItem(sku, quantity)",
                            ],
                            row="{'sku': 'A-19', 'quantity': 'N/A'}",
                        )
                    ],
                ),
            ),
            count=31,
            users=3,
            level="warning",
        ),
    ],
)

STOREFRONT = DemoService(
    "storefront",
    "javascript",
    "sentry",
    "web@1.8.0",
    [
        DemoError(
            "undefined-map",
            _sentry(
                "javascript",
                "error",
                _exception(
                    "TypeError",
                    "Cannot read properties of undefined (reading 'map')",
                    [
                        _js_frame(
                            "node_modules/react-dom/cjs/react-dom.production.min.js",
                            "renderWithHooks",
                            157,
                            20,
                            ["(minified)"],
                            in_app=False,
                        ),
                        _js_frame(
                            "src/components/ProductList.jsx",
                            "ProductList",
                            42,
                            27,
                            [
                                "  const { data } = useProducts(category);",
                                "  return (",
                                "    <ul>{data.items.map((p) => <ProductCard key={p.id} product={p} />)}</ul>",
                                "  );",
                                "}",
                            ],
                        ),
                    ],
                    mechanism={"type": "onerror", "handled": False},
                ),
                request={
                    "url": "https://shop.example.com/c/garden",
                    "headers": {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Safari/604.1"},
                },
                contexts={
                    "browser": {"name": "Mobile Safari", "version": "17.4"},
                    "os": {"name": "iOS", "version": "17.4"},
                },
                breadcrumbs={
                    "values": [
                        {"category": "navigation", "data": {"from": "/", "to": "/c/garden"}},
                        {"category": "fetch", "data": {"method": "GET", "url": "/api/products", "status_code": 502}},
                        {"category": "console", "message": "products request failed", "level": "error"},
                    ]
                },
                tags={"locale": "en-GB"},
            ),
            count=38,
            users=27,
        ),
        DemoError(
            "chunk-load",
            _sentry(
                "javascript",
                "warning",
                _exception(
                    "ChunkLoadError",
                    "Loading chunk 42 failed. (timeout: https://cdn.example.com/static/js/42.c0ffee.js)",
                    [
                        _js_frame(
                            "webpack/runtime/jsonp chunk loading",
                            "onScriptComplete",
                            41,
                            12,
                            ["(webpack runtime)"],
                            in_app=False,
                        )
                    ],
                ),
                tags={"locale": "de-DE"},
            ),
            count=12,
            users=11,
            level="warning",
        ),
    ],
)

SHOP_API = DemoService(
    "shop-api",
    "php",
    "laravel",
    "shop-api@5.2.1",
    [
        DemoError(
            "deadlock",
            {
                "exception": "Illuminate\\Database\\QueryException",
                "message": "SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock "
                "(SQL: update `stock` set `reserved` = `reserved` + 1 where `sku` = A-19)",
                "file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php",
                "line": 829,
                "trace": "#0 /var/www/html/app/Services/StockReservation.php(58): Illuminate\\Database\\Connection->"
                "update('update `stock`...', Array)\n#1 /var/www/html/app/Http/Controllers/CheckoutController.php(44): "
                "App\\Services\\StockReservation->reserve('A-19', 1)\n#2 /var/www/html/vendor/laravel/framework/src/"
                "Illuminate/Routing/Controller.php(54): App\\Http\\Controllers\\CheckoutController->store(Object("
                "Illuminate\\Http\\Request))\n#3 {main}",
                "url": "https://shop.example.com/checkout",
                "method": "POST",
                "severity": "critical",
                "tags": {"db": "mysql-primary"},
            },
            count=22,
            users=19,
            level="fatal",
        ),
        DemoError(
            "division",
            {
                "exception": "DivisionByZeroError",
                "message": "Division by zero",
                "file": "/var/www/html/app/Services/Pricing.php",
                "line": 48,
                "trace": "#0 /var/www/html/app/Http/Controllers/CartController.php(31): App\\Services\\Pricing->"
                "ratio(10, 0)\n#1 /var/www/html/vendor/laravel/framework/src/Illuminate/Routing/Controller.php(54): "
                "App\\Http\\Controllers\\CartController->show(Object(Illuminate\\Http\\Request))\n#2 {main}",
                "url": "https://shop.example.com/cart",
                "method": "GET",
            },
            count=7,
            users=5,
        ),
    ],
)

PAYMENTS = DemoService(
    "payments",
    "java",
    "java",
    "3.2.1",
    [
        DemoError(
            "gateway-timeout",
            {
                "exceptionClass": "com.acme.payments.GatewayException",
                "message": "charge ch_3PaT failed: gateway did not answer",
                "stackTrace": "com.acme.payments.GatewayException: charge ch_3PaT failed: gateway did not answer\n"
                "\tat com.acme.payments.stripe.StripeGateway.charge(StripeGateway.java:112)\n"
                "\tat com.acme.payments.ChargeService.capture(ChargeService.java:64)\n"
                "\tat com.acme.payments.api.ChargeController.post(ChargeController.java:38)\n"
                "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)\n"
                "Caused by: java.net.SocketTimeoutException: Read timed out\n"
                "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)\n"
                "\tat com.acme.payments.stripe.StripeGateway.charge(StripeGateway.java:108)\n"
                "\t... 3 more",
                "path": "/api/charges",
                "method": "POST",
                "level": "FATAL",
                "severity": "critical",
            },
            count=17,
            users=15,
            level="fatal",
        ),
        DemoError(
            "npe-invoice",
            {
                "exceptionClass": "java.lang.NullPointerException",
                "message": 'Cannot invoke "com.acme.payments.Invoice.getTotal()" because "invoice" is null',
                "stackTrace": [
                    _java_frame("com.acme.payments.RefundService", "refund", "RefundService.java", 51),
                    _java_frame("com.acme.payments.api.RefundController", "post", "RefundController.java", 29),
                    _java_frame("java.lang.Thread", "run", "Thread.java", 1583),
                ],
                "path": "/api/refunds",
                "method": "POST",
                "level": "ERROR",
            },
            count=5,
            users=4,
        ),
    ],
)

ANDROID = {"model": "Pixel 7", "manufacturer": "Google", "os": "android", "osVersion": "14"}
APP = {"version": "1.4.0", "build": 42, "id": "com.acme.shop"}

MOBILE = DemoService(
    "mobile-app",
    "dart",
    "mobile",
    "1.4.0",
    [
        DemoError(
            "range-error",
            {
                "exception": "RangeError (index): Invalid value: Not in inclusive range 0..2: 3",
                "type": "RangeError",
                "stack": "#0      List.[] (dart:core-patch/growable_array.dart:264:36)\n"
                "#1      CartScreen._itemAt (package:shop/screens/cart_screen.dart:88:22)\n"
                "#2      CartScreen.build.<anonymous closure> (package:shop/screens/cart_screen.dart:41:18)\n"
                "#3      SliverChildBuilderDelegate.build (package:flutter/src/widgets/scroll_delegate.dart:484:22)",
                "library": "widgets library",
                "context": "while building CartScreen",
                "device": ANDROID,
                "app": APP,
                "level": "error",
            },
            count=11,
            users=9,
        ),
        DemoError(
            "host-lookup",
            {
                "exception": "SocketException: Failed host lookup: 'api.shop.example' "
                "(OS Error: No address associated with hostname, errno = 7)",
                "type": "SocketException",
                "stack": "#0      _NativeSocket.lookup (dart:io-patch/socket_patch.dart:520:5)\n"
                "#1      ApiClient.get (package:shop/src/api_client.dart:31:9)",
                "device": {"model": "iPhone 14", "manufacturer": "Apple", "os": "ios", "osVersion": "17.4"},
                "app": APP,
                "level": "warning",
            },
            count=19,
            users=14,
            level="warning",
        ),
        DemoError(
            "camera-denied",
            {
                "exception": "PlatformException(camera_access_denied, User denied camera access., null, null)",
                "type": "PlatformException",
                "stack": "#0      StandardMethodCodec.decodeEnvelope "
                "(package:flutter/src/services/message_codecs.dart:652)\n"
                "#1      ScanScreen.openCamera (package:shop/screens/scan_screen.dart:23:5)",
                "device": {"model": "Galaxy S23", "manufacturer": "Samsung", "os": "android", "osVersion": "14"},
                "app": APP,
                "level": "info",
            },
            count=6,
            users=6,
            level="info",
        ),
    ],
)

SERVICES = [PAYMENTS, SHOP_API, STOREFRONT, MOBILE, BILLING]
