"""developers/ and developers/workload/ through HTTP: validation naming the field, audited changes, workload."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.enums import IssueStatus, Severity
from db.models import AuditEntry, Developer, OncallSchedule
from db.oncall import add_override, create_rotation
from tests.collector.api.querycount import count_queries
from tests.db.factories import make_developer, make_issue, make_project

UTC = dt.UTC
PUSHOVER_KEY = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def seed_developer(api, **fields) -> int:
    with api.collector.session() as session:
        developer = make_developer(session, **fields)
        session.commit()
        return developer.id


def test_admin_adds_a_developer_with_normalised_contacts(api, admin):
    response = admin.post(
        "/developers/",
        json={
            "name": "  Ana Lima ",
            "email": "Ana@Example.com",
            "phone": "+49 151 2345-6789",
            "ntfy_topic": "ana-pager",
            "pushover_user_key": PUSHOVER_KEY,
            "timezone": "Europe/Berlin",
            "channel_preferences": {"critical": ["sms", "ntfy", "sms"], "low": []},
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:30",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Ana Lima"
    assert body["email"] == "ana@example.com"
    assert body["phone"] == "+4915123456789"
    assert body["channel_preferences"] == {"critical": ["sms", "ntfy"], "low": []}
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("22:00", "07:30")
    assert body["is_active"] is True
    with api.collector.session() as session:
        developer = session.get_one(Developer, body["id"])
        assert developer.quiet_hours_start == dt.time(22, 0)
        assert developer.pushover_user_key == PUSHOVER_KEY
    [entry] = audit_rows(api, "developer.create")
    assert entry.actor == "admin-token"
    assert entry.target_id == str(body["id"])
    assert entry.after["email"] == "ana@example.com"
    assert entry.after["quiet_hours_end"] == "07:30"
    assert entry.client_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"email": "ana@"}, "body.email", "invalid e-mail"),
        ({"phone": "0151 234"}, "body.phone", "E.164"),
        ({"timezone": "Mars/Olympus"}, "body.timezone", "unknown time zone"),
        ({"slack_id": "not a slack id"}, "body.slack_id", "Slack"),
        ({"ntfy_topic": "a/b"}, "body.ntfy_topic", "ntfy"),
        ({"pushover_user_key": "short"}, "body.pushover_user_key", "Pushover"),
        ({"channel_preferences": {"critical": ["pigeon"]}}, "body.channel_preferences.critical.0", "email"),
        ({"channel_preferences": {"urgent": ["sms"]}}, "body.channel_preferences.urgent.[key]", "critical"),
        ({"channel_preferences": {"critical": ["slack"]}}, "body.channel_preferences", "project's routing"),
        ({"channel_preferences": {"critical": ["sms"]}}, "body.channel_preferences", "phone"),
        ({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "body.quiet_hours_start", "HH:MM"),
        ({"quiet_hours_start": "22:00"}, "body.quiet_hours_end", "both"),
        ({"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"}, "body.quiet_hours_end", "another time"),
        ({"name": "   "}, "body.name", "name"),
        ({"colour": "red"}, "body.colour", "Extra"),
        # PostgreSQL text cannot hold NUL, and no database stores half a surrogate pair.
        ({"name": "Ben\x00"}, "body.name", "NUL"),
        ({"email": "b\x00en@example.com"}, "body.email", "NUL"),
    ],
)
def test_bad_developer_fields_are_422_naming_the_field(api, admin, change, field, words):
    response = admin.post("/developers/", json={"name": "Ben", "email": "ben@example.com", **change})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field
    assert words in body["detail"]
    with api.collector.session() as session:
        assert session.scalars(select(Developer)).all() == []
    assert audit_rows(api, "developer.create") == []


def test_half_a_surrogate_pair_is_422_not_a_database_error(api, admin):
    raw = b'{"name": "Ben \\ud800", "email": "ben@example.com"}'
    response = admin.post("/developers/", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["field"] == "body.name"


def test_a_taken_email_is_409_whatever_its_case(api, admin):
    seed_developer(api, email="cat@example.com")
    response = admin.post("/developers/", json={"name": "Cat 2", "email": "CAT@example.com"})
    assert response.status_code == 409
    assert response.json()["field"] == "body.email"


def test_list_and_get_developers(api, viewer):
    ben = seed_developer(api, name="Ben", email="ben@example.com", phone="+4915100000001")
    seed_developer(api, name="Ana", email="ana@example.com")
    seed_developer(api, name="Zed", email="zed@example.com", is_active=False)
    listed = viewer.get("/developers/").json()
    assert [d["name"] for d in listed] == ["Ana", "Ben", "Zed"]
    assert [d["name"] for d in viewer.get("/developers/", params={"active": "true"}).json()] == ["Ana", "Ben"]
    assert [d["name"] for d in viewer.get("/developers/", params={"active": "false"}).json()] == ["Zed"]
    one = viewer.get(f"/developers/{ben}/").json()
    assert one["phone"] == "+4915100000001"
    assert one["quiet_hours_start"] is None
    missing = viewer.get("/developers/999999/")
    assert missing.status_code == 404
    assert "999999" in missing.json()["detail"]
    # Beyond any integer column: not found, never a database error.
    assert viewer.get(f"/developers/{2**70}/").status_code == 404


def test_patch_changes_only_what_is_sent_and_audits_old_and_new(api, admin):
    dev = seed_developer(api, name="Dan", email="dan@example.com", timezone="UTC")
    response = admin.patch(
        f"/developers/{dev}/",
        json={
            "phone": "+14155550100",
            "channel_preferences": {"critical": ["sms"]},
            "quiet_hours_start": "23:00",
            "quiet_hours_end": "06:00",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Dan"
    with api.collector.session() as session:
        developer = session.get_one(Developer, dev)
        assert developer.phone == "+14155550100"
        assert developer.channel_preferences == {"critical": ["sms"]}
        assert developer.quiet_hours_end == dt.time(6, 0)
    [entry] = audit_rows(api, "developer.update")
    assert entry.before == {
        "phone": None,
        "channel_preferences": None,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
    }
    assert entry.after["quiet_hours_start"] == "23:00"
    assert entry.after["channel_preferences"] == {"critical": ["sms"]}

    # Clearing the phone while SMS is still wanted would page nobody: refused, nothing changes.
    refused = admin.patch(f"/developers/{dev}/", json={"phone": None})
    assert refused.status_code == 422
    assert refused.json()["field"] == "body.channel_preferences"
    cleared = admin.patch(f"/developers/{dev}/", json={"phone": None, "channel_preferences": None})
    assert cleared.status_code == 200
    assert cleared.json()["phone"] is None
    assert len(audit_rows(api, "developer.update")) == 2


def test_patch_refuses_nulls_for_required_fields_and_taken_emails(api, admin):
    dev = seed_developer(api, email="eve@example.com")
    seed_developer(api, email="fay@example.com")
    assert admin.patch(f"/developers/{dev}/", json={"name": None}).json()["field"] == "body.name"
    assert admin.patch(f"/developers/{dev}/", json={"is_active": None}).status_code == 422
    taken = admin.patch(f"/developers/{dev}/", json={"email": "FAY@example.com"})
    assert taken.status_code == 409
    assert admin.patch("/developers/999999/", json={"name": "X"}).status_code == 404
    assert audit_rows(api, "developer.update") == []


def test_patch_without_a_change_writes_no_audit_row(api, admin):
    dev = seed_developer(api, name="Gus", email="gus@example.com")
    response = admin.patch(f"/developers/{dev}/", json={"name": "Gus", "email": "GUS@example.com"})
    assert response.status_code == 200
    assert audit_rows(api, "developer.update") == []


def test_preferences_stored_before_validation_do_not_block_other_changes(api, admin):
    dev = seed_developer(api, email="ivy@example.com", channel_preferences={"critical": ["slack", "pigeon"]})
    response = admin.patch(f"/developers/{dev}/", json={"name": "Ivy"})
    assert response.status_code == 200, response.text
    assert response.json()["channel_preferences"] == {"critical": ["slack", "pigeon"]}


def test_deactivating_a_developer_is_audited(api, admin):
    dev = seed_developer(api, email="hal@example.com")
    assert admin.patch(f"/developers/{dev}/", json={"is_active": False}).json()["is_active"] is False
    [entry] = audit_rows(api, "developer.update")
    assert (entry.before, entry.after) == ({"is_active": True}, {"is_active": False})


# Workload

AT = dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday, three hours after the 09:00 hand-off


def seed_workload(api) -> dict[str, int]:
    """Ana and Ben share a daily primary rotation (Ana first); Ben alone is secondary; Cid is on no schedule;
    Old is inactive."""
    with api.collector.session() as session:
        project = make_project(session)
        ana = make_developer(session, name="Ana")
        ben = make_developer(session, name="Ben")
        cid = make_developer(session, name="Cid")
        old = make_developer(session, name="Old", is_active=False)
        assigned = dict(assigned_at=AT - dt.timedelta(hours=5))
        make_issue(session, project, severity=Severity.CRITICAL, assignee_id=ana.id, **assigned)
        make_issue(session, project, severity=Severity.CRITICAL, assignee_id=ana.id, assigned_at=AT)
        oldest = make_issue(
            session,
            project,
            severity=Severity.HIGH,
            status=IssueStatus.ACKNOWLEDGED,
            assignee_id=ana.id,
            assigned_at=AT - dt.timedelta(days=2),
            title="Oldest one",
        )
        make_issue(session, project, severity=Severity.MEDIUM, status=IssueStatus.RESOLVED, assignee_id=ana.id)
        make_issue(session, project, severity=Severity.LOW, status=IssueStatus.IGNORED, assignee_id=ana.id)
        # Never formally assigned at a known time: first seen stands in.
        bens = make_issue(
            session, project, severity=Severity.LOW, assignee_id=ben.id, first_seen=AT - dt.timedelta(days=9)
        )
        make_issue(session, project, severity=Severity.HIGH, assignee_id=old.id)
        make_issue(session, project, severity=Severity.HIGH)  # unassigned
        common = dict(start_date=dt.date(2026, 1, 5), handoff_time=dt.time(9), timezone="UTC", shift_hours=24)
        create_rotation(
            session, schedule_name="shop", project_id=project.id, participant_ids=[ana.id, ben.id], **common
        )
        create_rotation(
            session, schedule_name="shop", project_id=project.id, level=2, participant_ids=[ben.id], **common
        )
        session.commit()
        return {
            "ana": ana.id,
            "ben": ben.id,
            "cid": cid.id,
            "oldest": oldest.id,
            "bens": bens.id,
            "project": project.id,
        }


def test_workload_per_active_developer(api, viewer):
    ids = seed_workload(api)
    response = viewer.get("/developers/workload/", params={"at": AT.isoformat()})
    assert response.status_code == 200, response.text
    rows = {row["developer"]["name"]: row for row in response.json()}
    assert list(rows) == ["Ana", "Ben", "Cid"]

    ana = rows["Ana"]
    assert ana["open_assigned"] == 3
    assert ana["open_by_severity"] == {"critical": 2, "high": 1, "medium": 0, "low": 0}
    assert ana["unacknowledged"] == 2
    assert ana["oldest_open"]["error_id"] == ids["oldest"]
    assert ana["oldest_open"]["title"] == "Oldest one"
    assert ana["on_call_now"] is True
    assert ana["on_call_levels"] == [1]
    assert ana["on_call"][0]["until"] == "2026-01-06T09:00:00Z"
    assert ana["on_call"][0]["project_id"] == ids["project"]
    assert ana["next_shift_start"] == "2026-01-07T09:00:00Z"

    ben = rows["Ben"]
    assert (ben["open_assigned"], ben["unacknowledged"]) == (1, 1)
    assert ben["oldest_open"]["error_id"] == ids["bens"]
    assert ben["oldest_open"]["since"] == (AT - dt.timedelta(days=9)).isoformat().replace("+00:00", "Z")
    assert ben["on_call_levels"] == [2]
    # Ben is on level 2 without a break, so his next new stretch is his level-1 turn.
    assert ben["next_shift_start"] == "2026-01-06T09:00:00Z"

    cid = rows["Cid"]
    assert cid["open_assigned"] == 0
    assert cid["oldest_open"] is None
    assert (cid["on_call_now"], cid["on_call"], cid["next_shift_start"]) == (False, [], None)


def test_workload_counts_an_override_as_on_call(api, viewer):
    ids = seed_workload(api)
    with api.collector.session() as session:
        schedule = session.scalars(select(OncallSchedule)).one()
        add_override(session, schedule, ids["cid"], AT - dt.timedelta(hours=1), AT + dt.timedelta(hours=2))
        add_override(session, schedule, ids["cid"], AT + dt.timedelta(days=60), AT + dt.timedelta(days=61))
        session.commit()
    rows = {
        r["developer"]["name"]: r for r in viewer.get("/developers/workload/", params={"at": AT.isoformat()}).json()
    }
    assert rows["Cid"]["on_call_levels"] == [1]
    assert rows["Cid"]["on_call"][0]["until"] == "2026-01-05T14:00:00Z"
    # Beyond the rotation's two-day cycle, the booked cover still counts as the next shift.
    assert rows["Cid"]["next_shift_start"] == "2026-03-06T12:00:00Z"
    assert rows["Ana"]["on_call_now"] is False
    assert rows["Ana"]["next_shift_start"] == "2026-01-05T14:00:00Z"


def test_workload_needs_an_aware_time(viewer):
    response = viewer.get("/developers/workload/", params={"at": "2026-01-05T12:00:00"})
    assert response.status_code == 422
    assert response.json()["field"] == "query.at"


def test_workload_runs_the_same_queries_however_many_developers(api, viewer):
    seed_workload(api)
    with count_queries(api) as few:
        assert viewer.get("/developers/workload/").status_code == 200
    with api.collector.session() as session:
        project = make_project(session)
        for i in range(12):
            developer = make_developer(session)
            make_issue(session, project, severity=list(Severity)[i % 4], assignee_id=developer.id)
            create_rotation(
                session,
                schedule_name=f"extra-{i}",
                project_id=project.id,
                participant_ids=[developer.id],
                start_date=dt.date(2026, 1, 1),
                handoff_time=dt.time(9),
                timezone="Europe/Berlin",
                shift_hours=12,
            )
        session.commit()
    with count_queries(api) as many:
        response = viewer.get("/developers/workload/")
    assert response.status_code == 200
    assert len(response.json()) == 15
    assert len(many) == len(few)
