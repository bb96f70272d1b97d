"""Real-looking stack traces of each language and webhook payloads of each kind, for the collector's tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from collector.pipeline import PreparedEvent
from db.types import JsonText

RECEIVED_AT = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)

# --- PHP -------------------------------------------------------------------------------------------

# What Laravel's $e->getTraceAsString() gives for an exception thrown in Pricing::ratio() at Pricing.php:48.
PHP_TRACE_AS_STRING = """\
#0 /var/www/html/app/Http/Controllers/CartController.php(31): App\\Services\\Pricing->ratio(10, 0)
#1 [internal function]: App\\Http\\Controllers\\CartController->show(Object(Illuminate\\Http\\Request))
#2 /var/www/html/vendor/laravel/framework/src/Illuminate/Routing/Controller.php(54): call_user_func_array(Array, Array)
#3 /var/www/html/vendor/laravel/framework/src/Illuminate/Pipeline/Pipeline.php(128): Illuminate\\Routing\\Controller->callAction('show', Array)
#4 /var/www/html/public/index.php(52): Illuminate\\Pipeline\\Pipeline->Illuminate\\Pipeline\\{closure}(Object(Illuminate\\Http\\Request))
#5 {main}"""  # noqa: E501

PHP_FATAL_CHAIN = """\
PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php:70
Stack trace:
#0 /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php(70): PDO->__construct('mysql:host=db;p...', 'shop', Object(SensitiveParameterValue), Array)
#1 /var/www/html/app/Repositories/UserRepository.php(31): Illuminate\\Database\\Connectors\\Connector->createPdoConnection('mysql:host=db;p...', 'shop', 'secret', Array)
#2 /var/www/html/app/Http/Controllers/UserController.php(22): App\\Repositories\\UserRepository->find(12)
#3 {main}

Next Illuminate\\Database\\QueryException: SQLSTATE[HY000] [2002] Connection refused (Connection: mysql, SQL: select * from `users` where `id` = 12) in /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php:829
Stack trace:
#0 /var/www/html/app/Repositories/UserRepository.php(31): Illuminate\\Database\\Connection->runQueryCallback('select * from `...', Array, Object(Closure))
#1 /var/www/html/app/Http/Controllers/UserController.php(22): App\\Repositories\\UserRepository->find(12)
#2 {main}
  thrown in /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php on line 829"""  # noqa: E501

# storage/logs/laravel.log: the exception sits in JSON-encoded context, so namespaces come out as "App\\Foo".
LARAVEL_LOG = """\
[2024-03-01 11:58:02] production.ERROR: Payment declined for order 981 {"userId":7,"exception":"[object] (App\\\\Exceptions\\\\PaymentFailed(code: 402): Payment declined for order 981 at /home/forge/shop.example.com/releases/20240301083000/app/Services/Billing.php:88)
[stacktrace]
#0 /home/forge/shop.example.com/releases/20240301083000/app/Http/Controllers/CheckoutController.php(41): App\\\\Services\\\\Billing->charge(Object(App\\\\Models\\\\Order))
#1 /home/forge/shop.example.com/releases/20240301083000/vendor/laravel/framework/src/Illuminate/Routing/Controller.php(54): App\\\\Http\\\\Controllers\\\\CheckoutController->store(Object(Illuminate\\\\Http\\\\Request))
#2 {main}

[previous exception] [object] (GuzzleHttp\\\\Exception\\\\ClientException(code: 402): Client error: `POST https://api.stripe.com/v1/charges` resulted in a `402 Payment Required` response at /home/forge/shop.example.com/releases/20240301083000/vendor/guzzlehttp/guzzle/src/Exception/RequestException.php:113)
[stacktrace]
#0 /home/forge/shop.example.com/releases/20240301083000/app/Services/Billing.php(80): GuzzleHttp\\\\Client->post('v1/charges', Array)
#1 {main}
"} 
"""  # noqa: E501, W291

# --- Java ------------------------------------------------------------------------------------------

JAVA_CAUSED_BY = """\
Exception in thread "http-nio-8080-exec-3" java.lang.IllegalStateException: Order 42 cannot be shipped
	at com.acme.shop.orders.OrderService.ship(OrderService.java:88)
	at com.acme.shop.orders.OrderController.post(OrderController.java:31)
	at java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
	at org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)
	at app//com.acme.shop.Application.main(Application.java:12)
	Suppressed: java.io.IOException: close failed
		at com.acme.shop.db.Pool.close(Pool.java:51)
		... 4 more
	Caused by: java.io.EOFException: pipe
		at com.acme.shop.db.Pool.flush(Pool.java:60)
		... 5 more
Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available
Request timed out after 30000ms.
	at com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
	at com.acme.shop.orders.OrderRepository.lock(OrderRepository.java:19)
	at com.acme.shop.orders.OrderService.ship(OrderService.java:80)
	... 3 more
"""

# Logback's rendering: module prefixes, jar suffixes and "common frames omitted".
JAVA_LOGBACK = """\
java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null
	at com.acme.shop.users.UserMapper.lambda$toDto$0(UserMapper.java:27) ~[classes/:na]
	at com.acme.shop.users.UserMapper$$Lambda/0x000001f8b4a0c000.apply(Unknown Source) ~[na:na]
	at java.base/java.util.stream.ReferencePipeline$3$1.accept(ReferencePipeline.java:197) ~[na:na]
	at com.acme.shop.users.UserController.list(UserController.java:44) ~[classes/:na]
	at org.springframework.web.method.support.InvocableHandlerMethod.invoke(InvocableHandlerMethod.java:205) ~[spring-web-6.1.4.jar:6.1.4]
Caused by: java.lang.RuntimeException: wrapped
	at com.acme.shop.users.UserRepository.find(UserRepository.java:12) ~[classes/:na]
	... 2 common frames omitted
"""  # noqa: E501

# --- JavaScript ------------------------------------------------------------------------------------

JS_CHROME = """\
TypeError: Cannot read properties of undefined (reading 'id')
    at renderUser (https://shop.example.com/static/js/main.4f3a9c.js:2:18734)
    at https://shop.example.com/static/js/main.4f3a9c.js:2:19001
    at Array.map (<anonymous>)
    at new UserList (https://shop.example.com/static/js/main.4f3a9c.js:2:20110)
    at eval (eval at compileTemplate (https://shop.example.com/static/js/vendor.js:1:5120), <anonymous>:3:7)
    at async Promise.all (index 0)
    at async loadPage (https://shop.example.com/static/js/main.4f3a9c.js:2:21000)"""

JS_NODE = """\
Error: connect ECONNREFUSED 127.0.0.1:5432
    at Object.<anonymous> (/srv/api/src/db.js:14:11)
    at Module._compile (node:internal/modules/cjs/loader:1256:14)
    at Pool.connect (/srv/api/node_modules/pg-pool/index.js:45:11)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5) {
  errno: -111,
  code: 'ECONNREFUSED',
  [cause]: Error: socket hang up
      at Socket.onEnd (/srv/api/src/net.js:3:9)
}"""

# util.inspect(error) of Node 20: causes nested, frames shared with the cause elided, an AggregateError's members.
JS_NODE_INSPECT = """\
AggregateError: startup failed
    at start (/srv/api/src/boot.js:8:11)
    at Object.<anonymous> (/srv/api/src/boot.js:12:7)
    ... 2 lines matching cause stack trace ...
    at node:internal/main/run_main_module:28:49 {
  [errors]: [
    RangeError: port out of range
        at start (/srv/api/src/boot.js:8:31)
        at node:internal/main/run_main_module:28:49,
    Error: config load failed
        at loadConfig (/srv/api/src/boot.js:5:45) {
      [cause]: SyntaxError: Unexpected token
          at JSON.parse (<anonymous>)
    }
  ],
  [cause]: Error: config load failed
      at loadConfig (/srv/api/src/boot.js:5:45)
      at start (/srv/api/src/boot.js:7:9)
      at Object.<anonymous> (/srv/api/src/boot.js:12:7)
      at Module._compile (node:internal/modules/cjs/loader:1521:14)
      at Module.load (node:internal/modules/cjs/loader:1266:32)
      at node:internal/main/run_main_module:28:49 {
    [cause]: [SyntaxError: Unexpected token]
  }
}
TypeError: an unrelated error after it
    at Object.<anonymous> (/srv/api/src/other.js:1:1)"""

JS_FIREFOX = """\
renderUser@https://shop.example.com/static/js/main.js:2:18734
promise callback*loadPage@https://shop.example.com/static/js/main.js:9:3
@debugger eval code:1:1
forEach@[native code]
global code@https://shop.example.com/static/js/boot.js line 2 > eval:1:1"""

# --- Dart ------------------------------------------------------------------------------------------

DART_TRACE = """\
FormatException: Unexpected character (at character 1)
#0      _ChunkedJsonParser.fail (dart:convert-patch/convert_patch.dart:1383:5)
#1      ApiClient.fetchUser (package:shop/src/api_client.dart:42:7)
<asynchronous suspension>
#2      UserScreen.build.<anonymous closure> (package:shop/screens/user_screen.dart:17:3)
#3      StatefulElement.build (package:flutter/src/widgets/framework.dart:5592:27)
#4      main (file:///home/dev/shop/lib/main.dart:9:3)"""

DART_TERSE = """\
package:shop/src/api_client.dart 42:7   ApiClient.fetchUser
===== asynchronous gap ===========================
dart:async                              _CustomZone.runUnary
package:shop/main.dart 9                main"""

FLUTTER_LOGCAT = """\
E/flutter ( 6281): [ERROR:flutter/runtime/dart_vm_initializer.cc(41)] Unhandled Exception: Bad state: No element
E/flutter ( 6281): #0      ListBase.firstWhere (dart:collection/list.dart:167:5)
E/flutter ( 6281): #1      Cart.total (package:shop/cart.dart:12:9)
E/flutter ( 6281): <asynchronous suspension>"""

FLUTTER_ERROR_DUMP = """\
══╡ EXCEPTION CAUGHT BY WIDGETS LIBRARY ╞═══════════════════════════════════════════════════════════
The following _TypeError was thrown building ProfileCard(dirty):
type 'Null' is not a subtype of type 'String'

The relevant error-causing widget was:
  ProfileCard ProfileCard:file:///home/dev/shop/lib/screens/profile.dart:31:16

When the exception was thrown, this was the stack:
#0      ProfileCard.build (package:shop/widgets/profile_card.dart:22:28)
#1      StatelessElement.build (package:flutter/src/widgets/framework.dart:5550:49)
(elided 3 frames from class _RawReceivePortImpl)
════════════════════════════════════════════════════════════════════════════════════════════════════"""

# --- webhook payloads ------------------------------------------------------------------------------


def make_laravel_payload(**overrides: Any) -> dict[str, Any]:
    """What an exception handler's report() sends: Laravel's Throwable plus request and user."""
    return {
        "message": "Division by zero",
        "exception": "DivisionByZeroError",
        "file": "/var/www/html/app/Services/Pricing.php",
        "line": 48,
        "trace": PHP_TRACE_AS_STRING,
        "code": 0,
        "url": "https://shop.example.com/cart/7",
        "method": "GET",
        "ip": "203.0.113.9",
        "user": {"id": 7, "email": "dana@example.com"},
        "level": "error",
        "environment": "production",
        "release": "shop@2024.03.01",
        "context": {"cart_id": 7},
        "tags": {"team": "checkout"},
        "timestamp": "2024-03-01T11:58:02+00:00",
        **overrides,
    }


def _element(class_name: str, method: str, line: int) -> dict[str, Any]:
    """A java.lang.StackTraceElement as Jackson serialises it."""
    file_name = class_name.rsplit(".", 1)[-1] + ".java"
    return {"className": class_name, "methodName": method, "fileName": file_name, "lineNumber": line}


def make_java_payload(**overrides: Any) -> dict[str, Any]:
    """What a Spring @ControllerAdvice sends: the exception, its StackTraceElements and the request."""
    return {
        "exceptionClass": "java.lang.IllegalStateException",
        "message": "Order 42 cannot be shipped",
        "stackTrace": [
            _element("com.acme.shop.orders.OrderService", "ship", 88),
            _element("com.acme.shop.orders.OrderController", "post", 31),
            _element("java.lang.Thread", "run", 1583),
        ],
        "path": "/api/orders/42/ship",
        "method": "POST",
        "user": "alice",
        "level": "ERROR",
        "service": "orders",
        "environment": "staging",
        "version": "3.2.1",
        "timestamp": 1709294282000,
        **overrides,
    }


def make_frontend_payload(**overrides: Any) -> dict[str, Any]:
    """What window.onerror forwards: the message, where, and the Error object's name/message/stack."""
    return {
        "type": "error",
        "message": "Uncaught TypeError: Cannot read properties of undefined (reading 'id')",
        "source": "https://shop.example.com/static/js/main.4f3a9c.js",
        "lineno": 2,
        "colno": 18734,
        "error": {
            "name": "TypeError",
            "message": "Cannot read properties of undefined (reading 'id')",
            "stack": JS_CHROME,
        },
        "url": "https://shop.example.com/users",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/122.0",
        "release": "web@1.8.0",
        "environment": "production",
        **overrides,
    }


def make_mobile_payload(**overrides: Any) -> dict[str, Any]:
    """What FlutterError.onError forwards: the error's toString(), the stack text, device and app."""
    return {
        "exception": "FormatException: Unexpected character (at character 1)",
        "stack": DART_TRACE.split("\n", 1)[1],
        "library": "widgets library",
        "context": "while building UserScreen",
        "device": {"model": "Pixel 7", "manufacturer": "Google", "os": "android", "osVersion": "14"},
        "app": {"version": "1.4.0", "build": 42, "id": "com.acme.shop"},
        "user": {"id": "u-19"},
        "level": "fatal",
        "environment": "production",
        **overrides,
    }


def make_generic_payload(**overrides: Any) -> dict[str, Any]:
    return {"message": "nightly export failed: disk full", "severity": "medium", **overrides}


def prepared_event(project_id: int, at: dt.datetime = RECEIVED_AT, **fields: Any) -> PreparedEvent:
    """An event as the pipeline hands it to storage; `fields` override any of its attributes."""
    event = PreparedEvent(
        project_id=project_id,
        event_id=uuid.uuid4().hex,
        fingerprint="f" * 32,
        grouping_version=1,
        title="ValueError: bad input",
        culprit="app.views in handle",
        exception_type="ValueError",
        platform="python",
        level="error",
        severity="medium",
        environment="production",
        release=None,
        timestamp=at,
        received_at=at,
        message=None,
        user_key=None,
        tags={"env": "production"},
        payload_json=JsonText("{}"),
        source="sentry",
        size_bytes=10,
    )
    return dataclasses.replace(event, **fields)
