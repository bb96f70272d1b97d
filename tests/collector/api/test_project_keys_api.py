"""projects/{id}/keys/ through HTTP: a provisioning script lists, adds, limits and revokes a project's ingest keys,
and a running collector honours the change (a new key at once, a revoked key and a limit at its next reload)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from collector.directory import RELOAD_SECONDS
from db.models import AuditEntry, ProjectKey
from db.projects import MAX_RATE_LIMIT
from tests.collector.envelopes import auth_header, make_envelope, make_event

WEBHOOK = "/api/error-logging/webhook/generic/"


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_keys_added_limited_and_revoked_through_the_api_apply_to_a_running_collector(api, viewer, admin):
    project_id, dsn, old_token = api.collector.create_project("shop")
    listed = viewer.get(f"/projects/{project_id}/keys/").json()
    assert [(k["kind"], k["label"], k["active"]) for k in listed] == [
        ("dsn", "default", True),
        ("webhook", "default", True),
    ]
    assert urlsplit(listed[0]["dsn"]).username == urlsplit(dsn).username
    assert listed[1]["dsn"] is None and old_token not in str(listed)  # a webhook token is never shown again

    made = admin.post(f"/projects/{project_id}/keys/", json={"kind": "webhook", "label": "rotated"})
    assert made.status_code == 201, made.text
    new_token = made.json()["webhook_token"]
    assert made.json()["key"]["label"] == "rotated" and made.json()["key"]["dsn"] is None
    made_dsn = admin.post(f"/projects/{project_id}/keys/", json={"kind": "dsn", "label": "ios-app"}).json()
    assert made_dsn["webhook_token"] is None
    ios_key = urlsplit(made_dsn["key"]["dsn"]).username
    with api.collector.session() as session:  # stored hashed, as the first token
        stored = session.get_one(ProjectKey, made.json()["key"]["id"])
        assert stored.key_lookup != new_token and len(stored.key_lookup) == 64

    def webhook(client, token: str) -> int:
        return client.post(WEBHOOK, json={"message": "refund failed"}, headers={"X-Errlog-Token": token}).status_code

    def envelope(client) -> int:
        body = make_envelope(make_event("slow"))
        return client.post(f"/api/{project_id}/envelope/", content=body, headers=auth_header(ios_key)).status_code

    with api.collector.client() as client:
        assert webhook(client, old_token) == 200
        assert webhook(client, new_token) == 200  # at once: an unknown key is looked up on its first use
        assert envelope(client) == 200

        limited = admin.patch(
            f"/projects/{project_id}/keys/{made_dsn['key']['id']}/", json={"rate_limit_per_minute": 1}
        )
        assert limited.status_code == 200 and limited.json()["rate_limit_per_minute"] == 1
        assert admin.delete(f"/projects/{project_id}/keys/{listed[1]['id']}/").status_code == 204
        deadline = time.monotonic() + 3 * RELOAD_SECONDS
        while webhook(client, old_token) == 200:  # until the next reload of keys
            assert time.monotonic() < deadline, "the revoked token still works"
            time.sleep(0.2)
        assert webhook(client, old_token) == 403
        assert webhook(client, new_token) == 200
        # The same reload brought the key's own limit: one event a minute, a burst of one.
        assert [envelope(client), envelope(client)] == [200, 429]

    after = {k["id"]: k for k in viewer.get(f"/projects/{project_id}/keys/").json()}
    assert after[listed[1]["id"]]["active"] is False and len(after) == 4

    created = audit_rows(api, "project.key.create")
    assert [(e.actor, e.after["kind"], e.after["label"]) for e in created] == [
        ("admin-token", "webhook", "rotated"),
        ("admin-token", "dsn", "ios-app"),
    ]
    assert new_token not in str(created[0].after)
    (update,) = audit_rows(api, "project.key.update")
    assert (update.before, update.after) == ({"rate_limit_per_minute": None}, {"rate_limit_per_minute": 1})
    (revoke,) = audit_rows(api, "project.key.revoke")
    assert (revoke.target_id, revoke.after) == (str(listed[1]["id"]), {"active": False})


def test_patch_changes_only_what_is_sent_and_null_restores_the_default_limit(api, admin):
    project_id, _, _ = api.collector.create_project("shop")
    key_id = admin.get(f"/projects/{project_id}/keys/").json()[0]["id"]
    url = f"/projects/{project_id}/keys/{key_id}/"
    assert admin.patch(url, json={"label": "web", "rate_limit_per_minute": 300}).json()["label"] == "web"
    assert admin.patch(url, json={"label": "web"}).json()["rate_limit_per_minute"] == 300
    assert admin.patch(url, json={"rate_limit_per_minute": None}).json() | {"created_at": None} == {
        "id": key_id,
        "kind": "dsn",
        "label": "web",
        "rate_limit_per_minute": None,
        "active": True,
        "dsn": admin.get(f"/projects/{project_id}/keys/").json()[0]["dsn"],
        "created_at": None,
    }
    # Sent but unchanged: nothing to audit.
    admin.patch(url, json={"label": "web"})
    assert [(e.before, e.after) for e in audit_rows(api, "project.key.update")] == [
        ({"label": "default", "rate_limit_per_minute": None}, {"label": "web", "rate_limit_per_minute": 300}),
        ({"rate_limit_per_minute": 300}, {"rate_limit_per_minute": None}),
    ]


@pytest.mark.parametrize(
    ("method", "body", "reason"),
    [
        ("post", {"kind": "ssh"}, "body.kind"),
        ("post", {"label": "x"}, "body.kind"),
        ("post", {"kind": "dsn", "label": ""}, "body.label"),
        ("post", {"kind": "dsn", "label": "   "}, "body.label"),
        ("post", {"kind": "dsn", "label": "x" * 101}, "body.label"),
        ("post", {"kind": "dsn", "label": "\x1c"}, "invalid label"),  # only what str.strip() removes
        ("post", {"kind": "dsn", "rate_limit_per_minute": 0}, "body.rate_limit_per_minute"),
        ("post", {"kind": "dsn", "rate_limit_per_minute": MAX_RATE_LIMIT + 1}, "body.rate_limit_per_minute"),
        ("post", {"kind": "dsn", "rate_limit_per_minute": "fast"}, "body.rate_limit_per_minute"),
        ("post", {"kind": "dsn", "secret": "mine"}, "body.secret"),
        ("patch", {"label": None}, "body.label"),
        ("patch", {"label": " \x1f "}, "invalid label"),
        ("patch", {"rate_limit_per_minute": -5}, "body.rate_limit_per_minute"),
        ("patch", {"is_active": True}, "body.is_active"),
    ],
)
def test_bad_key_requests_are_refused_with_the_field_and_change_nothing(api, admin, method, body, reason):
    project_id, _, _ = api.collector.create_project("shop")
    before = admin.get(f"/projects/{project_id}/keys/").json()
    url = f"/projects/{project_id}/keys/" if method == "post" else f"/projects/{project_id}/keys/{before[0]['id']}/"
    answer = getattr(admin, method)(url, json=body)
    assert answer.status_code == 422, answer.text
    assert reason in answer.text
    assert admin.get(f"/projects/{project_id}/keys/").json() == before
    assert audit_rows(api, "project.key.create") == audit_rows(api, "project.key.update") == []


def test_keys_are_found_only_under_their_own_project_and_changed_only_by_admins(api, viewer, responder, admin):
    shop_id, _, _ = api.collector.create_project("shop")
    other_id, _, _ = api.collector.create_project("billing")
    shop_key = admin.get(f"/projects/{shop_id}/keys/").json()[0]["id"]
    assert admin.patch(f"/projects/{other_id}/keys/{shop_key}/", json={"label": "x"}).status_code == 404
    assert admin.delete(f"/projects/{other_id}/keys/{shop_key}/").json()["detail"] == (
        f"project {other_id} has no key with id {shop_key}"
    )
    assert admin.get("/projects/999999/keys/").status_code == 404
    assert admin.post("/projects/999999/keys/", json={"kind": "dsn"}).status_code == 404
    for client in (viewer, responder):
        assert client.post(f"/projects/{shop_id}/keys/", json={"kind": "dsn"}).status_code == 403
        assert client.patch(f"/projects/{shop_id}/keys/{shop_key}/", json={"label": "x"}).status_code == 403
        assert client.delete(f"/projects/{shop_id}/keys/{shop_key}/").status_code == 403
    with api.as_role(None) as anonymous:
        assert anonymous.get(f"/projects/{shop_id}/keys/").status_code == 401
    # Revoking twice changes nothing the second time.
    assert admin.delete(f"/projects/{shop_id}/keys/{shop_key}/").status_code == 204
    assert admin.delete(f"/projects/{shop_id}/keys/{shop_key}/").status_code == 204
    assert len(audit_rows(api, "project.key.revoke")) == 1
    assert len(admin.get(f"/projects/{shop_id}/keys/").json()) == 2
