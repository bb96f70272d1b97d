"""Measures scrub_event's throughput on a typical Python SDK error event: `python bench/scrub_speed.py`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.scrub import ScrubRules, scrub_event


def make_frame(i: int) -> dict[str, Any]:
    source = [f"    value_{n} = compute(request, item_{n}, limit={n})" for n in range(5)]
    return {
        "filename": f"app/services/module_{i}.py",
        "abs_path": f"/srv/app/services/module_{i}.py",
        "module": f"app.services.module_{i}",
        "function": f"handle_{i}",
        "lineno": 40 + i,
        "in_app": i > 10,
        "pre_context": source,
        "context_line": "    return self.client.post(url, json=payload, headers=self.headers)",
        "post_context": source,
        "vars": {
            "self": f"<app.services.Client object at 0x7f{i:010x}>",
            "url": "'https://api.example.com/v1/orders?page=2&token=abc123def456'",
            "payload": {"order_id": 1234 + i, "items": ["'sku-1'", "'sku-2'"], "note": "'leave at door'"},
            "headers": {"Content-Type": "'application/json'", "Authorization": "'Bearer abcdef123456'"},
            "retries": 3,
            "password": "'hunter2'",
            "user_id": 42,
            "elapsed": 0.25,
        },
    }


def make_event() -> dict[str, Any]:
    return {
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
        "timestamp": "2024-05-01T12:00:00Z",
        "platform": "python",
        "level": "error",
        "server_name": "web-1",
        "release": "shop@1.4.2",
        "environment": "production",
        "transaction": "/api/orders/{id}",
        "exception": {
            "values": [
                {
                    "type": "ConnectionError",
                    "value": "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded",
                    "module": "requests.exceptions",
                    "mechanism": {"type": "django", "handled": False},
                    "stacktrace": {"frames": [make_frame(i) for i in range(20)]},
                }
            ]
        },
        "request": {
            "url": "https://shop.example.com/api/orders/17?expand=items",
            "method": "POST",
            "query_string": "expand=items&session=abc",
            "headers": {
                "Host": "shop.example.com",
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
                "Accept": "application/json",
                "Accept-Language": "en-GB,en;q=0.9",
                "Content-Type": "application/json",
                "Cookie": "sessionid=abc; csrftoken=def",
                "X-Forwarded-For": "203.0.113.7",
                "Authorization": "Bearer abcdef123456",
            },
            "cookies": {"sessionid": "abc", "csrftoken": "def", "theme": "dark"},
            "data": {"card_number": "4111 1111 1111 1111", "quantity": 2, "address": "1 Main St"},
            "env": {"REMOTE_ADDR": "10.0.0.5", "SERVER_NAME": "web-1", "SERVER_PORT": "443"},
        },
        "user": {"id": "42", "email": "jane@example.com", "ip_address": "203.0.113.7"},
        "breadcrumbs": {
            "values": [
                {
                    "category": "httplib",
                    "type": "http",
                    "data": {"url": f"https://api.example.com/x/{n}", "status_code": 200},
                }
                for n in range(10)
            ]
        },
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.9"},
            "trace": {"trace_id": "4c79f60c11214eb38604f4ae0781bfb2", "span_id": "fa90fdead5f74052"},
        },
        "tags": {"region": "eu-west-1", "customer_tier": "gold"},
        "extra": {"sys.argv": ["manage.py", "runserver"]},
        "modules": {f"package{n}": f"1.{n}.0" for n in range(60)},
        "sdk": {"name": "sentry.python.django", "version": "2.19.0"},
    }


def main() -> None:
    event = make_event()
    rules = ScrubRules(scrub_ip_addresses=True, scrub_emails=True)
    scrub_event(event, rules)  # warm the key cache, as in a running collector
    rounds = 2000
    started = time.process_time()
    for _ in range(rounds):
        scrub_event(event, rules)
    elapsed = time.process_time() - started
    per_event = elapsed / rounds * 1e6
    print(f"scrub_event: {rounds / elapsed:,.0f} events/s ({per_event:,.0f} µs of CPU per event, 20 frames with vars)")


if __name__ == "__main__":
    main()
