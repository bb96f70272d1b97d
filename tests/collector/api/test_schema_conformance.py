"""The served OpenAPI document holds for the running API: every operation fuzzed, no 500, answers as documented.

Schemathesis reads /api/error-logging/openapi.json from a live collector with seeded rows (so path ids exist),
generates valid and invalid requests for each operation and checks every answer: never a 5xx, a documented
status, the documented content type and a body matching the response schema; invalid input is refused with a
4xx. Derandomized with a fixed seed, so a run is the same in CI and locally."""

from __future__ import annotations

import datetime as dt
import sys
import types

import pytest
import schemathesis
from sqlalchemy import select

from db.enums import Channel, NotificationStatus, PatternKind, Role
from db.models import ApiToken, Issue, Notification, Pattern
from db.oncall import create_rotation
from tests.collector.api.error_seed import seed_errors
from tests.db.factories import make_event

SEED = 20260401
MAX_EXAMPLES = 25
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
TOKEN_PATH = "/api/error-logging/tokens/{token_id}/"
UNUSED_TOKEN_ID = 2**31 - 1


def seed(api) -> str:
    """Rows for the path ids to find: errors with events, a schedule, a notification, a pattern. Returns a
    webhook token of a project."""
    now = dt.datetime.now(dt.UTC)
    with api.collector.session() as session:
        seeded = seed_errors(session, now)
        payments, alice = seeded.projects["payments"], seeded.developers["alice"]
        for issue_id in seeded.ids.values():
            issue = session.get(Issue, issue_id)
            assert issue is not None
            make_event(
                session,
                issue,
                level="error",
                environment="production",
                release="1.4.2",
                platform="python",
                message=issue.title,
                tags={"browser": "firefox"},
                payload={"exception": {"values": [{"type": "ValueError", "value": "bad"}]}},
            )
        create_rotation(
            session,
            schedule_name="payments",
            project_id=payments,
            participant_ids=list(seeded.developers.values()),
            start_date=dt.date(2026, 1, 5),
            handoff_time=dt.time(9),
            timezone="UTC",
            shift_hours=24,
        )
        issue_id = seeded.ids["pay_timeout"]
        session.add_all(
            [
                Notification(
                    idempotency_key="conformance-1",
                    issue_id=issue_id,
                    project_id=payments,
                    developer_id=alice,
                    channel=Channel.SMS,
                    target="+4915100000001",
                    trigger="new",
                    status=NotificationStatus.FAILED,
                    attempts=1,
                    last_error="503 Service Unavailable",
                ),
                Pattern(kind=PatternKind.SPIKE, project_id=payments, issue_id=issue_id, description="spike", score=3.0),
            ]
        )
        session.commit()
    _, _, webhook_token = api.collector.create_project("webhooks")
    return webhook_token


@pytest.fixture
def own_token_ids(api) -> set[int]:
    with api.collector.session() as session:
        return set(session.scalars(select(ApiToken.id)))


@pytest.fixture
def api_schema(api, own_token_ids, monkeypatch):
    # A retried notification queues its delivery: not from this test.
    monkeypatch.setitem(sys.modules, "tasks.deliver", types.SimpleNamespace(deliver_notification=lambda _id: None))
    webhook_token = seed(api)
    admin = {"Authorization": f"Bearer {api.tokens[Role.ADMIN]}"}
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": api.collector.url,
            "headers": admin,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "operations": [
                {
                    # The webhooks read their payload leniently (aliases, camelCase, unknown fields ignored):
                    # only valid requests are sent, and their answers checked.
                    "include-tag": "webhooks",
                    "headers": {"Authorization": f"Bearer {webhook_token}", "X-Errlog-Token": webhook_token},
                    "generation": {"mode": "positive"},
                }
            ],
        }
    )
    url = f"{api.collector.url}/api/error-logging/openapi.json"
    return schemathesis.openapi.from_url(url, config=config, headers=admin)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@schema.parametrize()
def test_every_operation_answers_as_documented(case, own_token_ids):
    if case.operation.path == TOKEN_PATH and case.path_parameters.get("token_id") in own_token_ids:
        case.path_parameters["token_id"] = UNUSED_TOKEN_ID  # revoking the tokens in use would end the run early
    case.call_and_validate()
