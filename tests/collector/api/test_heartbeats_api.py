"""heartbeats/ through HTTP: admins create, change and delete monitors; every change is audited; bad input is a
4xx naming the field; the check-in URL the API gives works."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from db.models import AuditEntry, Heartbeat

NIGHTLY = {"slug": "nightly-invoices", "interval_minutes": 1440, "grace_minutes": 30, "name": "Nightly invoices"}


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_create_list_and_check_in_through_the_given_url(api, admin, viewer):
    project_id, _, _ = api.collector.create_project("billing")
    response = admin.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["slug"], created["state"], created["interval_minutes"], created["grace_minutes"]) == (
        "nightly-invoices", "waiting", 1440, 30,
    )  # fmt: skip
    # The URL is built on ERRLOG_PUBLIC_URL (the default here): its path is what a job calls.
    url = urlsplit(created["check_in_url"])
    assert url.path.startswith(f"/api/{project_id}/cron/nightly-invoices/")
    with api.collector.client() as client:
        assert client.get(url.path, params={"status": "ok"}).status_code == 202
    [listed] = viewer.get("/heartbeats/", params={"project_id": project_id}).json()
    assert (listed["id"], listed["state"], listed["last_status"]) == (created["id"], "ok", "ok")
    assert viewer.get("/heartbeats/", params={"project_id": project_id + 1}).json() == []

    [entry] = audit_rows(api, "heartbeat.create")
    assert entry.target_id == str(created["id"]) and entry.after["slug"] == "nightly-invoices"


def test_patch_reschedules_and_pauses_and_is_audited(api, admin):
    project_id, _, _ = api.collector.create_project("billing")
    created = admin.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY}).json()
    response = admin.patch(f"/heartbeats/{created['id']}/", json={"grace_minutes": 90, "is_active": False})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["grace_minutes"], changed["is_active"]) == (90, False)
    assert changed["next_due_at"] > created["next_due_at"]
    [entry] = audit_rows(api, "heartbeat.update")
    assert (entry.before["grace_minutes"], entry.after["grace_minutes"]) == (30, 90)
    assert entry.after["is_active"] is False


def test_delete_removes_the_monitor_and_its_check_in_url(api, admin):
    project_id, _, _ = api.collector.create_project("billing")
    created = admin.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY}).json()
    assert admin.delete(f"/heartbeats/{created['id']}/").status_code in (200, 204)
    with api.collector.client() as client:
        assert client.get(urlsplit(created["check_in_url"]).path).status_code == 404
    assert admin.delete(f"/heartbeats/{created['id']}/").status_code == 404
    [entry] = audit_rows(api, "heartbeat.delete")
    assert entry.before["slug"] == "nightly-invoices"
    with api.collector.session() as session:
        assert session.scalars(select(Heartbeat)).all() == []


def test_bad_input_names_the_field(api, admin):
    project_id, _, _ = api.collector.create_project("billing")
    cases = [
        ({"project_id": project_id, **NIGHTLY, "slug": "Nightly Invoices"}, 422, "body.slug"),
        ({"project_id": project_id, **NIGHTLY, "interval_minutes": 0}, 422, "body.interval_minutes"),
        ({"project_id": project_id, **NIGHTLY, "grace_minutes": -1}, 422, "body.grace_minutes"),
        ({"project_id": project_id + 99, **NIGHTLY}, 422, "body.project_id"),
        ({"project_id": project_id, **NIGHTLY, "every": 5}, 422, "body.every"),
    ]
    for body, status, field in cases:
        response = admin.post("/heartbeats/", json=body)
        assert response.status_code == status, (body, response.text)
        assert field in response.text, (field, response.text)
    assert admin.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY}).status_code == 201
    duplicate = admin.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY})
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "body.slug"
    [created] = admin.get("/heartbeats/").json()
    null = admin.patch(f"/heartbeats/{created['id']}/", json={"interval_minutes": None})
    assert null.status_code == 422 and "body.interval_minutes" in null.text


def test_only_admins_change_monitors(api, viewer, responder):
    project_id, _, _ = api.collector.create_project("billing")
    assert viewer.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY}).status_code == 403
    assert responder.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY}).status_code == 403
    assert viewer.get("/heartbeats/").status_code == 200


def test_minutes_must_be_numbers_not_booleans(api, admin):
    project_id, _, _ = api.collector.create_project("billing")
    response = admin.post("/heartbeats/", json={"project_id": project_id, **NIGHTLY, "grace_minutes": False})
    assert response.status_code == 422 and "body.grace_minutes" in response.text
