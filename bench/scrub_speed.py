"""Measures scrub_event's CPU per event: on a typical Python SDK error event, and on the corpus's real events.

    python -m bench.scrub_speed [--corpus PATH]

The corpus figures are warm (each project's rules remember what they found clean, as in a running collector) and
each event is dropped before the next, as the collector does; grouping is measured on the scrubbed events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import DEFAULT_CORPUS, CorpusError, read_corpus
from collector.envelope import event_id_of, extract_event, parse_envelope
from collector.grouping import group
from collector.normalize import normalize_sentry_event
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


def corpus_events(path: Path) -> list[dict[str, Any]]:
    """The corpus's events as the collector has them before scrubbing: parsed and normalised."""
    received_at = dt.datetime.now(dt.UTC)
    events = []
    for record in read_corpus(path):
        envelope = parse_envelope(record.envelope, max_item_size=len(record.envelope))
        event = extract_event(envelope).event
        if event is not None:
            events.append(normalize_sentry_event(event, received_at=received_at, event_id=event_id_of(envelope, event)))
    return events


def cpu_per_item(items: list[Any], step: Callable[[Any], Any]) -> float:
    """µs of CPU per item of `step`, whose results are dropped at once."""
    started = time.process_time()
    for item in items:
        step(item)
    return (time.process_time() - started) / len(items) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
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
    try:
        events = corpus_events(args.corpus)
    except CorpusError as exc:
        print(f"corpus: skipped ({exc})", file=sys.stderr)
        return 0
    corpus_rules = ScrubRules()
    cold = cpu_per_item(events, lambda e: scrub_event(e, corpus_rules))
    warm = min(cpu_per_item(events, lambda e: scrub_event(e, corpus_rules)) for _ in range(3))
    scrubbed = [scrub_event(e, corpus_rules) for e in events]
    grouped = min(cpu_per_item(scrubbed, group) for _ in range(3))
    print(
        f"corpus, {len(events)} events, µs of CPU per event: scrub_event {warm:,.0f} (first pass {cold:,.0f}), "
        f"group {grouped:,.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
