"""tokens/ through HTTP: issuing shows the secret once, stores a hash, revoking locks the token out."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from db.enums import Role
from db.keys import hash_secret
from db.models import ApiToken, AuditEntry
from tests.db.factories import make_developer


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def client_with(api, secret: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{api.collector.url}/api/error-logging", headers={"Authorization": f"Bearer {secret}"}, timeout=20
    )


def test_issue_a_token_whose_secret_works_and_is_stored_hashed(api, admin):
    with api.collector.session() as session:
        developer = make_developer(session)
        session.commit()
    response = admin.post("/tokens/", json={"name": " ana-laptop ", "role": "responder", "developer_id": developer.id})
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body["secret"]
    assert body["token"]["name"] == "ana-laptop"
    assert body["token"]["role"] == "responder"
    assert secret.startswith(body["token"]["prefix"])
    with api.collector.session() as session:
        token = session.get_one(ApiToken, body["token"]["id"])
        assert token.token_hash == hash_secret(secret)
        assert token.developer_id == developer.id
    [entry] = audit_rows(api, "token.create")
    assert entry.actor == "admin-token"
    assert secret not in str(entry.after)
    with client_with(api, secret) as client:
        assert client.get("/developers/").status_code == 200
        assert client.get("/tokens/").status_code == 403
    listed = admin.get("/tokens/").json()
    assert "ana-laptop" in [t["name"] for t in listed]
    assert all("secret" not in t and "token_hash" not in t for t in listed)


def test_bad_tokens_are_refused(api, admin):
    assert admin.post("/tokens/", json={"name": "admin-token", "role": "viewer"}).status_code == 409
    bad_role = admin.post("/tokens/", json={"name": "x", "role": "owner"})
    assert (bad_role.status_code, bad_role.json()["field"]) == (422, "body.role")
    no_name = admin.post("/tokens/", json={"name": "  ", "role": "viewer"})
    assert (no_name.status_code, no_name.json()["field"]) == (422, "body.name")
    nul = admin.post("/tokens/", json={"name": "ci\x00", "role": "viewer"})
    assert (nul.status_code, nul.json()["field"]) == (422, "body.name")
    nobody = admin.post("/tokens/", json={"name": "x", "role": "viewer", "developer_id": 999999})
    assert (nobody.status_code, nobody.json()["field"]) == (422, "body.developer_id")
    assert audit_rows(api, "token.create") == []


def test_revoke_a_token(api, admin):
    secret = api.token("ci", Role.VIEWER)
    with api.collector.session() as session:
        token_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "ci")).one()
    assert admin.delete(f"/tokens/{token_id}/").status_code == 204
    with client_with(api, secret) as client:
        assert client.get("/developers/").status_code == 401
    with api.collector.session() as session:
        assert session.get_one(ApiToken, token_id).revoked_at is not None
    [entry] = audit_rows(api, "token.revoke")
    assert entry.target_id == str(token_id)
    assert entry.before == {"revoked_at": None}
    # Revoking again changes nothing and writes nothing.
    assert admin.delete(f"/tokens/{token_id}/").status_code == 204
    assert len(audit_rows(api, "token.revoke")) == 1
    assert "ci" not in [t["name"] for t in admin.get("/tokens/").json()]
    revoked = [t for t in admin.get("/tokens/", params={"include_revoked": "true"}).json() if t["name"] == "ci"]
    assert revoked[0]["is_active"] is False
    assert admin.delete("/tokens/999999/").status_code == 404
    assert admin.delete(f"/tokens/{2**70}/").status_code == 404
