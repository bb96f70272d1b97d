"""The API's shared behaviour: auth, roles, validation naming the field, cursors, audit listing, OpenAPI."""

from __future__ import annotations

import datetime as dt

import pytest

from db.audit import record
from db.enums import Role
from db.tokens import revoke_token


def test_no_token_is_401_with_a_reason(api):
    with api.as_role(None) as client:
        response = client.get("/audit/")
    assert response.status_code == 401
    assert "missing API token" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_and_revoked_tokens_are_401(api):
    with api.as_role(None) as client:
        assert client.get("/audit/", headers={"Authorization": "Bearer elg_nope"}).status_code == 401
    with api.collector.session() as session:
        revoke_token(session, "viewer-token")
        session.commit()
    with api.as_role(Role.VIEWER) as client:
        response = client.get("/audit/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_last_use_of_a_token_is_recorded(api, viewer):
    assert viewer.get("/audit/").status_code == 200
    with api.collector.session() as session:
        from db.models import ApiToken

        token = session.query(ApiToken).filter_by(name="viewer-token").one()
        assert token.last_used_at is not None


def test_validation_errors_name_the_field(viewer):
    response = viewer.get("/audit/", params={"limit": "lots"})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "query.limit"
    assert body["errors"][0]["field"] == "query.limit"


def test_unknown_query_parameters_are_refused(viewer):
    response = viewer.get("/audit/", params={"colour": "red"})
    assert response.status_code == 400
    assert "colour" in response.json()["detail"]


def test_a_bad_cursor_is_400(viewer):
    response = viewer.get("/audit/", params={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["field"] == "query.cursor"


def test_audit_pages_newest_first_with_cursors(api, viewer):
    with api.collector.session() as session:
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for i in range(5):
            entry = record(session, actor="cli", action="project.create", target_type="project", target_id=str(i))
            entry.at = base + dt.timedelta(minutes=i)
        session.commit()
    first = viewer.get("/audit/", params={"limit": 2, "action": "project.create"}).json()
    assert [e["target_id"] for e in first["items"]] == ["4", "3"]
    second = viewer.get(
        "/audit/", params={"limit": 2, "action": "project.create", "cursor": first["next_cursor"]}
    ).json()
    assert [e["target_id"] for e in second["items"]] == ["2", "1"]
    last = viewer.get(
        "/audit/", params={"limit": 2, "action": "project.create", "cursor": second["next_cursor"]}
    ).json()
    assert [e["target_id"] for e in last["items"]] == ["0"]
    assert last["next_cursor"] is None


def test_openapi_schema_is_served_and_lists_this_api(viewer):
    response = viewer.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "/api/error-logging/audit/" in document["paths"]
    assert document["paths"]["/api/error-logging/audit/"]["get"]["x-errlog-role"] == "viewer"


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_read_the_audit_log(api, role):
    with api.as_role(role) as client:
        assert client.get("/audit/").status_code == 200
