"""The JSON webhooks over real HTTP: each kind, batches, token auth and bad input."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import func, select

from db.models import Event, Issue
from tests.collector.factories import (
    make_frontend_payload,
    make_generic_payload,
    make_java_payload,
    make_laravel_payload,
    make_mobile_payload,
)

PAYLOADS = {
    "laravel": (make_laravel_payload, "DivisionByZeroError: Division by zero", "high"),
    "java": (make_java_payload, "IllegalStateException: Order 42 cannot be shipped", "high"),
    "frontend": (make_frontend_payload, "TypeError: Cannot read properties of undefined (reading 'id')", "high"),
    "mobile": (make_mobile_payload, "FormatException: Unexpected character (at character 1)", "critical"),
    "generic": (make_generic_payload, "nightly export failed: disk full", "medium"),
}


@pytest.fixture
def webhook(collector):
    _, _, token = collector.create_project()
    return token


def post(collector, kind, payload, token, **headers):
    with collector.client() as client:
        return client.post(
            f"/api/error-logging/webhook/{kind}/",
            content=payload if isinstance(payload, bytes) else json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **({"X-Errlog-Token": token} if token else {}), **headers},
        )


def count(collector, model) -> int:
    with collector.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_each_kind_becomes_an_issue(collector, webhook, kind):
    make, title, severity = PAYLOADS[kind]
    response = post(collector, kind, make(), webhook)
    assert response.status_code == 200, response.text
    [event_id] = response.json()["ids"]
    with collector.session() as session:
        event = session.scalar(select(Event).where(Event.event_id == event_id))
        issue = session.get(Issue, event.issue_id)
    assert issue.title == title
    assert issue.severity == severity
    assert event.source == f"webhook:{kind}"
    assert event.tags["source"] == f"webhook:{kind}"


def test_a_batch_is_stored_whole_and_the_same_error_groups_together(collector, webhook):
    batch = [make_java_payload(message=f"Order {n} cannot be shipped") for n in range(5)] + [make_java_payload()]
    response = post(collector, "java", batch, webhook)
    assert response.status_code == 200, response.text
    assert len(response.json()["ids"]) == 6
    assert count(collector, Event) == 6
    with collector.session() as session:
        assert session.scalars(select(Issue.times_seen)).all() == [6]


def test_a_lone_surrogate_in_a_webhook_is_stored_as_a_replacement_character(collector, webhook):
    payload = make_generic_payload()
    payload["message"] = "export of \U0001f4e6 failed at \ud83d"
    response = post(collector, "generic", payload, webhook)
    assert response.status_code == 200, response.text
    [event_id] = response.json()["ids"]
    with collector.session() as session:
        event = session.scalar(select(Event).where(Event.event_id == event_id))
        assert session.get(Issue, event.issue_id).title == "export of \U0001f4e6 failed at \ufffd"


def test_bearer_token_and_gzip_body(collector, webhook):
    body = gzip.compress(json.dumps(make_generic_payload()).encode())
    response = post(collector, "generic", body, None, Authorization=f"Bearer {webhook}", **{"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text


def test_retrying_with_the_same_event_id_counts_once(collector, webhook):
    payload = make_generic_payload(event_id="6f1c1c2d9b6a4c58a6e1f5d3c9b2a7e4")
    assert [post(collector, "generic", payload, webhook).status_code for _ in range(2)] == [200, 200]
    assert count(collector, Event) == 1


@pytest.mark.parametrize(
    ("token", "status", "reason"),
    [(None, 401, "missing webhook token"), ("elw_not-a-real-token", 403, "unknown or revoked webhook token")],
)
def test_missing_or_wrong_token(collector, webhook, token, status, reason):
    response = post(collector, "generic", make_generic_payload(), token)
    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert count(collector, Event) == 0


def test_the_dsn_key_is_not_a_webhook_token(collector):
    _, dsn, _ = collector.create_project("other")
    public_key = dsn.split("//")[1].split("@")[0]
    response = post(collector, "generic", make_generic_payload(), public_key)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("kind", "body", "status", "reason"),
    [
        ("generic", b"{not json", 400, "invalid JSON"),
        pytest.param(
            "generic",
            b'{"message": "x", "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            400,
            "JSON nested too deeply",
            id="nested too deeply",
        ),
        pytest.param(
            "generic",
            b'{"message": "x", "extra": {"n": ' + b"7" * 5000 + b"}}",
            400,
            "a number has more than 4300",
            id="number too long",
        ),
        ("generic", b"", 400, "empty body"),
        ("generic", b'{"message": "\xff"}', 400, "UTF-8"),
        ("generic", json.dumps({"severity": "high"}).encode(), 400, "message"),
        ("generic", json.dumps({"message": 5}).encode(), 400, "message"),
        ("generic", json.dumps([make_generic_payload(), {"message": []}]).encode(), 400, "item 1"),
        ("generic", json.dumps([make_generic_payload()] * 101).encode(), 413, "100"),
        ("java", json.dumps("just a string").encode(), 400, ""),
        ("cobol", json.dumps(make_generic_payload()).encode(), 404, "unknown webhook kind"),
    ],
)
def test_bad_payloads_get_a_reason_and_store_nothing(collector, webhook, kind, body, status, reason):
    response = post(collector, kind, body, webhook)
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    assert count(collector, Event) == 0


def test_health_needs_no_token(collector):
    with collector.client() as client:
        response = client.get("/api/error-logging/webhook/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readiness_reports_the_database(collector):
    with collector.client() as client:
        response = client.get("/api/error-logging/ready/")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


@pytest.mark.parametrize("collector_settings", [{"rate_limit_per_key": 10}], indirect=False)
def test_a_batch_larger_than_the_rate_limit_is_refused_for_good(collector, webhook):
    response = post(collector, "generic", [make_generic_payload()] * 11, webhook)
    assert response.status_code == 413
    assert "send at most 10 per request" in response.json()["detail"]
    assert post(collector, "generic", [make_generic_payload()] * 10, webhook).status_code == 200
    limited = post(collector, "generic", make_generic_payload(), webhook)
    assert limited.status_code == 429
    assert limited.headers["retry-after"]
