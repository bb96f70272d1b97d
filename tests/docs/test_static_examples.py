"""The examples of docs/integrations.md for stacks that cannot run here (Laravel and Spring apps, Flutter), checked
for what errlog relies on: the DSN's form, the webhook endpoint and token header (sent for real to a live
collector), and payload fields that collector/webhooks.py reads. Every checked block must be claimed by a test here
or in a sibling module, so no example goes unchecked."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from collector import webhooks
from collector.envelope import parse_dsn
from tests.docs.examples import DOCS, DSN_PLACEHOLDER, block, checked_blocks, fenced_blocks, section

DOC = "integrations.md"

# How each checked block of the integration guide is proven. "run": a test executes it (test_*_examples.py);
# "static": checked below; "text": package coordinates and commands, checked below for the versions they name.
PROOF = {
    "django-install": "text",
    "django-sentry": "run",
    "django-logging-config": "run",
    "laravel-install": "text",
    "laravel-env": "static",
    "laravel-sentry": "static",
    "laravel-webhook": "run",
    "laravel-services": "static",
    "laravel-webhook-hook": "static",
    "spring-gradle": "text",
    "spring-properties": "static",
    "java-reporter": "run",
    "spring-webhook": "static",
    "react-install": "text",
    "react-sentry": "run",
    "react-root": "run",
    "react-webhook": "run",
    "angular-install": "text",
    "angular-sentry": "run",
    "angular-provider": "run",
    "angular-webhook": "run",
    "vue-install": "text",
    "vue-sentry": "run",
    "vue-webhook": "run",
    "javascript-install": "text",
    "javascript-sentry": "run",
    "browser-reporter": "run",
    "browser-relay": "run",
    "node-install": "run",
    "node-sentry": "run",
    "flutter-pubspec": "text",
    "flutter-sentry": "static",
    "flutter-webhook": "static",
    "curl-generic": "run",
    "curl-wrapper": "run",
    "python-sentry-logging": "run",
    "python-logging-handler": "run",
    "python-logging-setup": "run",
    "ruby-sentry": "run",
    "go-sentry": "run",
}

SDK_CONFIGS = ("django-sentry", "laravel-install", "laravel-env", "spring-properties", "react-sentry")
SDK_CONFIGS += ("angular-sentry", "vue-sentry", "node-sentry", "flutter-sentry", "python-sentry-logging")
SDK_CONFIGS += ("ruby-sentry", "go-sentry", "javascript-sentry")
_DSN_LIKE = re.compile(r"https?://[^\s\"'@/]+@[^\s\"'/]+/[^\s\"',;)]+")


def test_every_block_of_the_integration_guide_is_checked_and_every_check_names_a_block():
    blocks = checked_blocks(DOC)
    unproven, stale = sorted(set(blocks) - set(PROOF)), sorted(set(PROOF) - set(blocks))
    assert not unproven and not stale, f"blocks without a proof: {unproven}; proofs of no block: {stale}"
    unmarked = [line for info, _, line in fenced_blocks(DOCS / DOC) if info not in ("console",)]
    assert len(unmarked) == len(blocks), "every code block but the sample output carries a <!-- check: --> marker"


@pytest.mark.parametrize("name", SDK_CONFIGS)
def test_sdk_configurations_use_the_dsn_form_errlog_prints(name, docs_project):
    text = block(DOC, name).text
    dsns = _DSN_LIKE.findall(text)
    assert dsns, f"{name} configures no DSN"
    assert set(dsns) == {DSN_PLACEHOLDER}
    [real] = set(_DSN_LIKE.findall(docs_project.substitute(text)))
    assert real == docs_project.dsn
    parsed = parse_dsn(real)
    assert parsed.project_id == str(docs_project.project_id)
    # The live collector accepts an event sent with exactly this DSN (the SDK derives the URL and key from it).
    key = parse_dsn(docs_project.dsn).public_key
    with docs_project.client() as client:
        answer = client.post(
            f"/api/{docs_project.project_id}/store/",
            json={"message": f"dsn check for {name}", "level": "info"},
            headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}"},
        )
    assert answer.status_code == 200, answer.text


# --- webhook payload fields -----------------------------------------------------------------------------------


def _json_examples(kind: str) -> list[Any]:
    import json

    return [
        json.loads(body) for body in re.findall(r"^```json\n(.*?)\n```$", section("webhooks.md", kind), re.M | re.S)
    ]


# Payloads that take every branch that reads a field (chains, objects), beside docs/webhooks.md's own examples.
_EXTRA_PAYLOADS: dict[str, list[dict[str, Any]]] = {
    "laravel": [{"message": "m", "previous": {"message": "p"}, "user": {"id": 1}, "trace": [{"file": "a.php"}]}],
    "java": [
        {"message": "m", "cause": {"message": "c"}, "stackTrace": [{"className": "a.B", "methodName": "c"}]},
        {"message": "m", "user": {"id": "1", "email": "a@example.com"}},
    ],
    "frontend": [{"message": "m", "user": {"id": "1"}}, {"type": "unhandledrejection", "reason": {"name": "E"}}],
    "mobile": [{"message": "m", "user": {"id": "1"}}],
    "generic": [{"message": "m", "stacktrace": [{"filename": "a.py"}], "user": {"id": "1"}}],
}


def accepted_fields(kind: str, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every field name (snake_case and camelCase, at any depth) collector/webhooks.py looks up for `kind`."""
    asked: set[str] = set()
    original = webhooks._Reader.raw

    def recording(reader: webhooks._Reader, *names: str) -> tuple[str, Any]:
        for name in names:
            asked.update({name, webhooks._camel(name)})
        return original(reader, *names)

    monkeypatch.setattr(webhooks._Reader, "raw", recording)
    for payload in _json_examples(kind) + _EXTRA_PAYLOADS[kind]:
        webhooks.normalize_webhook(kind, payload, received_at=dt.datetime.now(dt.UTC))
    monkeypatch.undo()
    return asked


def php_keys(text: str) -> set[str]:
    return set(re.findall(r"'(\w+)'\s*=>", text))


def java_keys(text: str) -> set[str]:
    return set(re.findall(r"\.put\(\"(\w+)\"", text))


def dart_keys(text: str) -> set[str]:
    # Map literal keys: after "{", "," or at a line's start, so a ternary's `? 'a' : 'b'` is not taken for one.
    return set(re.findall(r"(?:^|[{,])\s*'(\w+)'\s*:", text, re.M))


def js_report_fields(text: str) -> set[str]:
    """The top-level fields the framework code passes to reportError(error, {...})."""
    return set(re.findall(r"reportError\([^,]+,\s*\{\s*(\w+):", text))


@pytest.mark.parametrize(
    ("name", "kind", "keys"),
    [
        ("laravel-webhook", "laravel", php_keys),
        ("spring-webhook", "java", java_keys),
        ("java-reporter", "java", java_keys),
        ("flutter-webhook", "mobile", dart_keys),
        ("react-webhook", "frontend", js_report_fields),
        ("angular-webhook", "frontend", js_report_fields),
        ("vue-webhook", "frontend", js_report_fields),
    ],
)
def test_webhook_examples_send_only_fields_errlog_reads(name, kind, keys, monkeypatch):
    used = keys(block(DOC, name).text)
    assert used, f"found no payload fields in {name}"
    unknown = used - accepted_fields(kind, monkeypatch)
    assert not unknown, f"{name} sends fields collector/webhooks.py ignores for {kind}: {sorted(unknown)}"


def test_the_browser_reporter_sends_only_fields_the_frontend_webhook_reads(monkeypatch):
    text = block(DOC, "browser-reporter").text
    body = re.search(r"const body = \{(.*?)\};", text, re.S)
    assert body is not None
    used = set(re.findall(r"^\s*(\w+)(?::|,)", body.group(1), re.M)) | {"reason", "error", "source", "lineno", "colno"}
    assert not used - accepted_fields("frontend", monkeypatch)


# --- webhook endpoints and token headers, sent for real ----------------------------------------------------------


def _webhook_targets() -> Iterator[tuple[str, str, str]]:
    """(block, kind, token header) of every example that posts to a webhook without running here."""
    laravel = block(DOC, "laravel-webhook").text + block(DOC, "laravel-services").text
    yield "laravel-webhook", _kind(laravel), "Authorization" if "withToken(" in laravel else _header(laravel)
    yield "java-reporter", _kind(block(DOC, "java-reporter").text), _header(block(DOC, "java-reporter").text)
    yield "flutter-webhook", _kind(block(DOC, "flutter-webhook").text), _header(block(DOC, "flutter-webhook").text)


def _kind(text: str) -> str:
    match = re.search(r"/api/error-logging/webhook/(\w+)/", text)
    assert match is not None, "no webhook endpoint in the example"
    return match.group(1)


def _header(text: str) -> str:
    match = re.search(r"""["'](X-Errlog-Token)["']""", text)
    assert match is not None, "no token header in the example"
    return match.group(1)


@pytest.mark.parametrize(("name", "kind", "header"), list(_webhook_targets()))
def test_webhook_examples_post_to_a_real_endpoint_with_a_header_that_authenticates(docs_project, name, kind, header):
    value = f"Bearer {docs_project.webhook_token}" if header == "Authorization" else docs_project.webhook_token
    with docs_project.client() as client:
        answer = client.post(
            f"/api/error-logging/webhook/{kind}/",
            json={"message": f"endpoint check for {name}"},
            headers={header: value},
        )
        refused = client.post(f"/api/error-logging/webhook/{kind}/", json={"message": "x"}, headers={header: "wrong"})
    assert answer.status_code == 200, answer.text
    assert refused.status_code in (401, 403)


def test_examples_read_the_token_from_the_environment_variable_the_guide_names():
    for name in ("laravel-services", "java-reporter", "flutter-webhook", "browser-relay", "python-logging-handler"):
        assert "ERRLOG_WEBHOOK_TOKEN" in block(DOC, name).text, name


# --- versions and package names ---------------------------------------------------------------------------------


def test_the_sentry_sdk_packages_named_are_the_official_ones_at_current_major_versions():
    expected = {
        "django-install": r'pip install "sentry-sdk\[django\]>=2\.\d+,<3"',
        "laravel-install": r"composer require sentry/sentry-laravel:\^4\.\d+",
        "spring-gradle": r"io\.sentry:sentry-spring-boot-4-starter:8\.\d+\.\d+",
        "react-install": r"npm install @sentry/react@\^11\.\d+\.\d+",
        "angular-install": r"npm install @sentry/angular@\^11\.\d+\.\d+",
        "vue-install": r"npm install @sentry/vue@\^11\.\d+\.\d+",
        "javascript-install": r"npm install @sentry/browser@\^11\.\d+\.\d+",
        "flutter-pubspec": r"sentry_flutter: \^9\.\d+\.\d+",
    }
    for name, pattern in expected.items():
        assert re.search(pattern, block(DOC, name).text), name
    imports = {
        "react-sentry": "@sentry/react",
        "react-root": "@sentry/react",
        "angular-sentry": "@sentry/angular",
        "angular-provider": "@sentry/angular",
        "vue-sentry": "@sentry/vue",
        "javascript-sentry": "@sentry/browser",
        "node-sentry": "@sentry/node",
        "flutter-sentry": "package:sentry_flutter/sentry_flutter.dart",
        "laravel-sentry": "Sentry\\Laravel\\Integration",
    }
    for name, package in imports.items():
        assert package in block(DOC, name).text, name


def test_the_installed_python_sdk_satisfies_the_documented_range():
    import sentry_sdk

    low = re.search(r">=(\d+)\.(\d+)", block(DOC, "django-install").text)
    assert low is not None
    installed = tuple(int(part) for part in sentry_sdk.VERSION.split(".")[:2])
    assert (int(low.group(1)), int(low.group(2))) <= installed < (3, 0)


def test_framework_hooks_use_the_shared_reporter_module():
    for name in ("react-webhook", "angular-webhook", "vue-webhook"):
        assert re.search(r"import \{[^}]*reportError[^}]*\} from \"\.\.?/errlog-report\"", block(DOC, name).text), name
    assert "export function reportError" in block(DOC, "browser-reporter").text
    assert '"/internal/client-errors"' in block(DOC, "browser-relay").text
    assert '"/internal/client-errors"' in block(DOC, "browser-reporter").text
