"""maintenance-windows/ through HTTP: admins make, change, end and delete windows, everyone lists them, audited;
bad input is refused naming the field."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import AuditEntry, MaintenanceWindow
from tests.db.factories import make_project


def z(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def project_id(api, name: str = "checkout") -> int:
    with api.collector.session() as session:
        project = make_project(session, name)
        session.commit()
        return project.id


def test_a_window_is_made_listed_extended_ended_and_deleted(api, admin, viewer):
    checkout = project_id(api)
    now = dt.datetime.now(dt.UTC)
    created = admin.post(
        "/maintenance-windows/",
        json={
            "project_id": checkout,
            "query": " level:critical ",
            "ends_at": z(now + dt.timedelta(hours=2)),
            "reason": "DB migration",
        },
    )
    assert created.status_code == 201, created.text
    window = created.json()
    assert (window["project"], window["query"], window["active"], window["silenced_alerts"]) == (
        "checkout",
        "level:critical",
        True,
        0,
    )
    assert window["created_by"] == "admin-token"
    [entry] = audit_rows(api, "maintenance.create")
    assert entry.target_id == str(window["id"]) and entry.after["reason"] == "DB migration"

    listed = viewer.get("/maintenance-windows/")
    assert [w["id"] for w in listed.json()] == [window["id"]]
    assert viewer.post("/maintenance-windows/", json={"ends_at": z(now)}).status_code == 403

    later = now + dt.timedelta(hours=3)
    patched = admin.patch(f"/maintenance-windows/{window['id']}/", json={"ends_at": z(later), "query": None})
    assert patched.status_code == 200, patched.text
    assert patched.json()["query"] is None
    [update] = audit_rows(api, "maintenance.update")
    assert set(update.after) == {"ends_at", "query"}

    ended = admin.post(f"/maintenance-windows/{window['id']}/end/")
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert admin.post(f"/maintenance-windows/{window['id']}/end/").status_code == 409
    assert viewer.get("/maintenance-windows/").json() == []
    assert [w["id"] for w in viewer.get("/maintenance-windows/", params={"past": "true"}).json()] == [window["id"]]

    assert admin.delete(f"/maintenance-windows/{window['id']}/").status_code == 204
    assert admin.get(f"/maintenance-windows/{window['id']}/").status_code == 404
    assert len(audit_rows(api, "maintenance.delete")) == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"ends_at": "2026-01-05T11:00:00Z"}, 422, "body.ends_at"),  # before it starts
        ({"ends_at": "2026-03-05T12:00:00Z"}, 422, "body.ends_at"),  # longer than 31 days
        ({"project_id": 999}, 422, "body.project_id"),
        ({"query": "level:"}, 400, "body.query"),
        ({"query": "assigned:me"}, 400, "body.query"),  # a window belongs to nobody
        ({"ends_at": "tomorrow"}, 422, "body.ends_at"),
        ({"ends_at": "2026-01-05T14:00:00"}, 422, "body.ends_at"),  # no offset
        ({"colour": "red"}, 422, "body.colour"),
    ],
)
def test_bad_windows_are_refused_naming_the_field(api, admin, change, status, field):
    body = {"starts_at": "2026-01-05T12:00:00Z", "ends_at": "2026-01-05T14:00:00Z", **change}
    response = admin.post("/maintenance-windows/", json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert audit_rows(api, "maintenance.create") == []
    with api.collector.session() as session:
        assert session.scalars(select(MaintenanceWindow)).all() == []


def test_extending_an_ended_window_sends_its_summary_again_at_the_new_end(api, admin):
    now = dt.datetime.now(dt.UTC)
    created = admin.post(
        "/maintenance-windows/", json={"starts_at": z(now - dt.timedelta(hours=2)), "ends_at": z(now)}
    ).json()
    with api.collector.session() as session:
        session.get_one(MaintenanceWindow, created["id"]).summary_sent_at = now
        session.commit()
    extended = admin.patch(f"/maintenance-windows/{created['id']}/", json={"ends_at": z(now + dt.timedelta(hours=1))})
    assert extended.json()["summary_sent_at"] is None and extended.json()["active"] is True


def test_a_patch_is_checked_as_the_window_will_be(api, admin):
    created = admin.post(
        "/maintenance-windows/", json={"starts_at": "2026-01-05T12:00:00Z", "ends_at": "2026-01-05T14:00:00Z"}
    ).json()
    response = admin.patch(f"/maintenance-windows/{created['id']}/", json={"starts_at": "2026-01-05T15:00:00Z"})
    assert response.status_code == 422 and response.json()["field"] == "body.ends_at"
    assert admin.patch("/maintenance-windows/9999/", json={"reason": "x"}).status_code == 404


def test_developers_subscribe_to_the_daily_summary_through_their_preferences(api, admin):
    created = admin.post("/developers/", json={"name": "Ana", "email": "ana@example.com"}).json()
    url = f"/developers/{created['id']}/"
    subscribed = admin.patch(url, json={"channel_preferences": {"daily_summary": ["email"], "critical": ["email"]}})
    assert subscribed.status_code == 200, subscribed.text
    assert subscribed.json()["channel_preferences"] == {"daily_summary": ["email"], "critical": ["email"]}
    refused = admin.patch(url, json={"channel_preferences": {"daily_summary": ["sms"]}})
    assert refused.status_code == 422 and "email only" in refused.json()["detail"]
