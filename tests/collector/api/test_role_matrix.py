"""The role matrix of the whole API: every registered endpoint with no token, a bad token, a revoked token and
each role. Endpoints come from build_api() when the test runs, so every module's endpoints are covered."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from collector.api import build_api
from collector.api.framework import Endpoint
from db.enums import Channel, NotificationStatus, PatternKind, Role
from db.heartbeats import create_heartbeat
from db.models import Comment, Notification, Pattern, Team
from db.oncall import add_override, create_rotation
from db.projects import create_project
from db.tokens import create_token, revoke_token
from tests.db.factories import make_developer, make_event, make_issue

ROLES = [Role.VIEWER, Role.RESPONDER, Role.ADMIN]
# Reads first and deletions last, so a deletion cannot turn a later request into a 404.
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}


def seed(api) -> dict[str, Any]:
    """One real row of each kind a path can name, keyed by the path parameter's name."""
    with api.collector.session() as session:
        project = create_project(session, "matrix").project
        developer = make_developer(session, name="Matrix")
        team = Team(name="matrix-team")
        session.add(team)
        issue = make_issue(session, project)
        event = make_event(session, issue)
        comment = Comment(issue_id=issue.id, author="viewer-token", body="seen")
        start = dt.date(2026, 1, 5)
        rotation = create_rotation(
            session,
            schedule_name="matrix",
            project_id=project.id,
            participant_ids=[developer.id],
            start_date=start,
            handoff_time=dt.time(9),
            timezone="UTC",
            shift_hours=24,
        )
        now = dt.datetime.now(dt.UTC)
        override = add_override(session, rotation.schedule, developer.id, now, now + dt.timedelta(hours=1))
        notification = Notification(
            idempotency_key="matrix",
            issue_id=issue.id,
            project_id=project.id,
            developer_id=developer.id,
            channel=Channel.EMAIL,
            target="matrix@example.com",
            trigger="new",
            status=NotificationStatus.FAILED,
        )
        pattern = Pattern(kind=PatternKind.SPIKE, project_id=project.id, issue_id=issue.id, description="spike")
        heartbeat = create_heartbeat(session, project.id, "matrix", interval_minutes=60, now=dt.datetime.now(dt.UTC))
        session.add_all([comment, notification, pattern])
        spare = create_token(session, "matrix-spare", Role.VIEWER).token  # the one DELETE tokens/{id}/ revokes
        revoked = create_token(session, "matrix-revoked", Role.ADMIN)
        revoke_token(session, "matrix-revoked")
        session.commit()
        return {
            "error_id": issue.id,
            "issue_id": issue.id,
            "event_id": event.event_id,
            "event_pk": event.id,
            "developer_id": developer.id,
            "project_id": project.id,
            "team_id": team.id,
            "comment_id": comment.id,
            "schedule_id": rotation.schedule_id,
            "override_id": override.id,
            "notification_id": notification.id,
            "pattern_id": pattern.id,
            "heartbeat_id": heartbeat.id,
            "token_id": spare.id,
            "revoked_secret": revoked.secret,
        }


def concrete_path(endpoint: Endpoint, rows: dict[str, Any]) -> tuple[str, bool]:
    """The endpoint's path with real ids, and whether every parameter named a seeded row."""
    known = True

    def fill(match: re.Match[str]) -> str:
        nonlocal known
        name, kind = match[1], match[2]
        if name == "event_id" and kind == "int":
            return str(rows["event_pk"])
        if name not in rows:
            known = False
            return "1"
        return str(rows[name])

    return re.sub(r"\{(\w+)(?::(\w+))?\}", fill, endpoint.path), known


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example_value(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A small valid-looking value for a JSON schema."""
    schema = _resolve(schema, defs)
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return example_value(options[0], defs)
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        return {name: example_value(schema["properties"][name], defs) for name in required}
    if kind == "array":
        return [example_value(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        formats = {"date-time": "2026-01-05T09:00:00Z", "date": "2026-01-05", "time": "09:00:00"}
        return formats.get(schema.get("format", ""), "x" * max(1, schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return False
    return None


def valid_body(model: type[BaseModel]) -> dict[str, Any]:
    """A body `model` accepts: its example, else the required fields, else those plus one optional field (for
    models that want at least or exactly one of several)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = example_value({**schema, "examples": None}, defs)
    candidates = [*schema.get("examples", []), required]
    for name, prop in schema.get("properties", {}).items():
        if name not in required:
            value = example_value(prop, defs)
            candidates.append({**required, name: True if value is False else value})
    for candidate in candidates:
        try:
            model.model_validate(candidate)
        except ValidationError:
            continue
        return candidate
    raise AssertionError(f"cannot build a valid {model.__name__} body: give the model an example")


def call(client: httpx.Client, endpoint: Endpoint, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = valid_body(endpoint.body) if endpoint.body is not None else None
    return client.request(endpoint.method, path, json=body, headers=headers)


def test_every_endpoint_honours_tokens_and_roles(api):
    rows = seed(api)
    endpoints = sorted(build_api().endpoints, key=lambda e: METHOD_ORDER.get(e.method, 9))
    assert len(endpoints) > 30, "the whole API should be registered"
    problems: list[str] = []

    def expect(endpoint: Endpoint, who: str, response: httpx.Response, wanted: str) -> None:
        status = response.status_code
        ok = {
            "401": status == 401,
            "403": status == 403,
            "allowed": status not in (401, 403) and status < 500,
        }[wanted]
        if ok and wanted == "allowed" and endpoint.method == "GET" and status >= 400:
            ok = status == 404 and not known  # a read of seeded rows must succeed
        if not ok:
            problems.append(f"{endpoint.method} {endpoint.path} as {who}: {status} {response.text[:200]}")

    clients = {role: api.as_role(role) for role in ROLES}
    anonymous = api.as_role(None)
    try:
        for endpoint in endpoints:
            path, known = concrete_path(endpoint, rows)
            expect(endpoint, "no token", call(anonymous, endpoint, path), "401")
            expect(endpoint, "bad token", call(anonymous, endpoint, path, {"Authorization": "Bearer elg_x"}), "401")
            revoked = {"Authorization": f"Bearer {rows['revoked_secret']}"}
            expect(endpoint, "revoked token", call(anonymous, endpoint, path, revoked), "401")
            for role in ROLES:
                wanted = "allowed" if role.allows(endpoint.role) else "403"
                expect(endpoint, str(role), call(clients[role], endpoint, path), wanted)
    finally:
        anonymous.close()
        for client in clients.values():
            client.close()
    assert not problems, "\n".join(problems)


def test_every_role_is_exercised_by_some_endpoint():
    roles = {endpoint.role for endpoint in build_api().endpoints}
    assert roles == set(ROLES)


def test_tokens_and_roles_are_checked_before_the_body(api):
    with api.as_role(Role.VIEWER) as viewer:
        assert viewer.post("/developers/", json={}).status_code == 403
    with api.as_role(None) as anonymous:
        assert anonymous.post("/developers/", json={}, headers={"Authorization": "Bearer elg_x"}).status_code == 401
