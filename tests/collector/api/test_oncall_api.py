"""oncall/ and oncall/schedules/ through HTTP: who is on now and next, schedules and overrides, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import AuditEntry, OncallOverride, OncallRotation, OncallSchedule, Project, Team
from db.oncall import create_rotation
from tests.collector.api.querycount import count_queries
from tests.db.factories import make_developer, make_project

UTC = dt.UTC
AT = dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday, three hours after the 09:00 hand-off
DAILY = dict(start_date=dt.date(2026, 1, 5), handoff_time=dt.time(9), timezone="UTC", shift_hours=24)


def z(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def seed(api) -> dict[str, int]:
    """shop: its own daily primary rotation Ana, Ben. payments team: a team rotation with Cid at level 1 and
    Dan at level 2; its project billing has no schedule of its own; lonely has no schedule at all."""
    with api.collector.session() as session:
        ana, ben, cid, dan = (make_developer(session, name=n) for n in ("Ana", "Ben", "Cid", "Dan"))
        team = Team(name="payments")
        session.add(team)
        session.flush()
        shop = make_project(session, "shop")
        billing = make_project(session, "billing", team_id=team.id)
        make_project(session, "lonely")
        create_rotation(session, schedule_name="shop", project_id=shop.id, participant_ids=[ana.id, ben.id], **DAILY)
        create_rotation(session, schedule_name="payments", team_id=team.id, participant_ids=[cid.id], **DAILY)
        create_rotation(session, schedule_name="payments", team_id=team.id, level=2, participant_ids=[dan.id], **DAILY)
        session.commit()
        ids = {"ana": ana.id, "ben": ben.id, "cid": cid.id, "dan": dan.id, "team": team.id}
        ids |= {"shop": shop.id, "billing": billing.id}
        ids["shop_schedule"], ids["team_schedule"] = session.scalars(
            select(OncallSchedule.id).order_by(OncallSchedule.name.desc())
        ).all()
        return ids


def test_who_is_on_call_per_project_and_team(api, viewer):
    ids = seed(api)
    response = viewer.get("/oncall/", params={"at": AT.isoformat()})
    assert response.status_code == 200, response.text
    entries = response.json()
    assert [(e["scope"], e["project_name"] or e["team_name"]) for e in entries] == [
        ("project", "billing"),
        ("project", "shop"),
        ("team", "payments"),
    ]
    billing, shop, team = entries

    [primary] = shop["levels"]
    assert primary["schedule_id"] == ids["shop_schedule"]
    assert primary["on_call"]["developer"]["name"] == "Ana"
    assert primary["on_call"]["ends_at"] == "2026-01-06T09:00:00Z"
    assert primary["on_call"]["source"] == "rotation"
    assert primary["next"]["developer"]["name"] == "Ben"
    assert primary["next"]["starts_at"] == "2026-01-06T09:00:00Z"

    # billing has no schedule of its own: its team's answers, at both levels.
    assert billing["team_name"] == "payments"
    assert [(lv["level"], lv["on_call"]["developer"]["name"]) for lv in billing["levels"]] == [(1, "Cid"), (2, "Dan")]
    assert billing["levels"] == team["levels"]


def test_oncall_filters_and_bad_input(api, viewer):
    ids = seed(api)
    only_shop = viewer.get("/oncall/", params={"project": ids["shop"], "at": AT.isoformat()}).json()
    assert [e["project_name"] for e in only_shop] == ["shop"]
    team = viewer.get("/oncall/", params={"team": ids["team"], "at": AT.isoformat()}).json()
    assert [(e["scope"], e["project_name"]) for e in team] == [("project", "billing"), ("team", None)]
    assert viewer.get("/oncall/", params={"project": 999999}).status_code == 404
    assert viewer.get("/oncall/", params={"team": 999999}).status_code == 404
    naive = viewer.get("/oncall/", params={"at": "2026-01-05T12:00:00"})
    assert (naive.status_code, naive.json()["field"]) == (422, "query.at")
    far = viewer.get("/oncall/", params={"at": "9999-12-31T23:00:00-05:00"})
    assert (far.status_code, far.json()["field"]) == (422, "query.at")
    assert viewer.get("/oncall/", params={"project": 2**40}).status_code == 422
    # A day later it is Ben's turn: the time asked for matters.
    later = viewer.get("/oncall/", params={"project": ids["shop"], "at": z(AT + dt.timedelta(days=1))}).json()
    assert later[0]["levels"][0]["on_call"]["developer"]["name"] == "Ben"


def test_override_shows_up_and_can_be_removed(api, admin, viewer):
    ids = seed(api)
    response = admin.post(
        f"/oncall/schedules/{ids['shop_schedule']}/overrides/",
        json={
            "developer_id": ids["dan"],
            "starts_at": z(AT - dt.timedelta(hours=1)),
            "ends_at": z(AT + dt.timedelta(hours=2)),
            "reason": " dentist swap ",
        },
    )
    assert response.status_code == 201, response.text
    override = response.json()
    assert override["developer"]["name"] == "Dan"
    assert override["reason"] == "dentist swap"
    now = viewer.get("/oncall/", params={"project": ids["shop"], "at": AT.isoformat()}).json()[0]["levels"][0]
    assert (now["on_call"]["developer"]["name"], now["on_call"]["source"]) == ("Dan", "override")
    assert now["on_call"]["ends_at"] == "2026-01-05T14:00:00Z"
    assert now["next"]["developer"]["name"] == "Ana"
    [created] = audit_rows(api, "oncall.override.create")
    assert created.after["developer_id"] == ids["dan"]

    assert admin.delete(f"/oncall/overrides/{override['id']}/").status_code == 204
    with api.collector.session() as session:
        assert session.scalars(select(OncallOverride)).all() == []
    [deleted] = audit_rows(api, "oncall.override.delete")
    assert deleted.before["reason"] == "dentist swap"
    assert admin.delete(f"/oncall/overrides/{override['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": z(AT - dt.timedelta(hours=2))}, "body.ends_at"),
        ({"ends_at": "2026-01-05T20:00:00"}, "body.ends_at"),
        ({"developer_id": 999999}, "body.developer_id"),
        ({"level": 0}, "body.level"),
        ({"starts_at": "9999-12-31T23:00:00-05:00"}, "body.starts_at"),
        ({"reason": "swap\x00"}, "body.reason"),
        ({"developer_id": 2**40}, "body.developer_id"),
    ],
)
def test_bad_overrides_are_422(api, admin, change, field):
    ids = seed(api)
    body = {"developer_id": ids["dan"], "starts_at": z(AT), "ends_at": z(AT + dt.timedelta(hours=1)), **change}
    response = admin.post(f"/oncall/schedules/{ids['shop_schedule']}/overrides/", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert audit_rows(api, "oncall.override.create") == []


def test_override_on_a_missing_schedule_is_404(api, admin):
    ids = seed(api)
    body = {"developer_id": ids["dan"], "starts_at": z(AT), "ends_at": z(AT + dt.timedelta(hours=1))}
    assert admin.post("/oncall/schedules/999999/overrides/", json=body).status_code == 404
    assert admin.post(f"/oncall/schedules/{2**40}/overrides/", json=body).status_code == 404
    assert admin.delete(f"/oncall/overrides/{2**70}/").status_code == 404


def rotation(*participants: int, level: int = 1, **fields) -> dict:
    return {
        "level": level,
        "participant_ids": list(participants),
        "start_date": "2026-01-05",
        "handoff_time": "09:00",
        "timezone": "Europe/Berlin",
        "shift_hours": 168,
        **fields,
    }


def test_create_schedule_with_two_levels(api, admin, viewer):
    ids = seed(api)
    with api.collector.session() as session:
        lonely = session.scalars(select(Project.id).where(Project.name == "lonely")).one()
    response = admin.post(
        "/oncall/schedules/",
        json={
            "name": " lonely-rota ",
            "project_id": lonely,
            "rotations": [rotation(ids["ana"], ids["ben"]), rotation(ids["cid"], level=2)],
        },
    )
    assert response.status_code == 201, response.text
    schedule = response.json()
    assert schedule["name"] == "lonely-rota"
    assert [(r["level"], [p["name"] for p in r["participants"]]) for r in schedule["rotations"]] == [
        (1, ["Ana", "Ben"]),
        (2, ["Cid"]),
    ]
    assert schedule["rotations"][0]["handoff_time"] == "09:00"
    with api.collector.session() as session:
        rotations = session.scalars(select(OncallRotation).where(OncallRotation.schedule_id == schedule["id"])).all()
        assert sorted(r.level for r in rotations) == [1, 2]
        assert rotations[0].timezone == "Europe/Berlin"
    [entry] = audit_rows(api, "oncall.schedule.create")
    assert entry.after["rotations"][0]["participant_ids"] == [ids["ana"], ids["ben"]]
    listed = viewer.get("/oncall/schedules/", params={"project": lonely}).json()
    assert [s["id"] for s in listed] == [schedule["id"]]
    assert len(viewer.get("/oncall/schedules/").json()) == 3


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "shop"}, 409, "body.name"),
        ({"team_id": 1}, 422, "body.project_id"),
        ({"project_id": None}, 422, "body.project_id"),
        ({"project_id": 999999}, 422, "body.project_id"),
        ({"rotations": []}, 422, "body.rotations"),
        ({"rotations": [rotation(999999)]}, 422, "body.rotations.0"),
        ({"rotations": [rotation(1, handoff_time="9am")]}, 422, "body.rotations.0.handoff_time"),
        ({"rotations": [rotation(1, timezone="Mars/Olympus")]}, 422, "body.rotations.0"),
        ({"rotations": [rotation(1, shift_hours=0)]}, 422, "body.rotations.0.shift_hours"),
        ({"rotations": [rotation(1), rotation(2)]}, 422, "body.rotations"),
        ({"rotations": [rotation(1, start_date="9999-12-31")]}, 422, "body.rotations.0.start_date"),
        ({"name": "new\x00"}, 422, "body.name"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(api, admin, body, status, field):
    ids = seed(api)
    full = {"name": "new", "project_id": ids["shop"], "rotations": [rotation(ids["ana"])], **body}
    response = admin.post("/oncall/schedules/", json=full)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    with api.collector.session() as session:
        assert session.scalars(select(OncallSchedule).where(OncallSchedule.name == "new")).all() == []
    assert audit_rows(api, "oncall.schedule.create") == []


def test_inactive_developers_cannot_join_a_rotation(api, admin):
    ids = seed(api)
    assert admin.patch(f"/developers/{ids['ben']}/", json={"is_active": False}).status_code == 200
    response = admin.patch(f"/oncall/schedules/{ids['shop_schedule']}/", json={"rotations": [rotation(ids["ben"])]})
    assert response.status_code == 422
    assert "inactive" in response.json()["detail"]


def test_patch_replaces_a_level_renames_and_removes(api, admin, viewer):
    ids = seed(api)
    path = f"/oncall/schedules/{ids['team_schedule']}/"
    response = admin.patch(path, json={"name": "payments-rota", "rotations": [rotation(ids["ana"], ids["cid"])]})
    assert response.status_code == 200, response.text
    levels = {r["level"]: [p["name"] for p in r["participants"]] for r in response.json()["rotations"]}
    assert levels == {1: ["Ana", "Cid"], 2: ["Dan"]}
    [entry] = audit_rows(api, "oncall.schedule.update")
    assert entry.before["name"] == "payments"
    assert entry.before["rotations"][0]["participant_ids"] == [ids["cid"]]
    assert entry.after["rotations"][0]["participant_ids"] == [ids["ana"], ids["cid"]]

    removed = admin.patch(path, json={"remove_levels": [2]})
    assert [r["level"] for r in removed.json()["rotations"]] == [1]
    with api.collector.session() as session:
        assert session.scalars(
            select(OncallRotation.level).where(OncallRotation.schedule_id == ids["team_schedule"])
        ).all() == [1]
    missing = admin.patch(path, json={"remove_levels": [5]})
    assert (missing.status_code, missing.json()["field"]) == (422, "body.remove_levels")
    clash = admin.patch(path, json={"name": "shop"})
    assert clash.status_code == 409
    assert admin.patch("/oncall/schedules/999999/", json={}).status_code == 404
    assert len(audit_rows(api, "oncall.schedule.update")) == 2


def test_delete_schedule(api, admin, viewer):
    ids = seed(api)
    assert admin.delete(f"/oncall/schedules/{ids['shop_schedule']}/").status_code == 204
    with api.collector.session() as session:
        assert session.get(OncallSchedule, ids["shop_schedule"]) is None
        assert (
            session.scalars(select(OncallRotation).where(OncallRotation.schedule_id == ids["shop_schedule"])).all()
            == []
        )
    [entry] = audit_rows(api, "oncall.schedule.delete")
    assert entry.before["name"] == "shop"
    assert [e["project_name"] for e in viewer.get("/oncall/").json() if e["scope"] == "project"] == ["billing"]
    assert admin.delete(f"/oncall/schedules/{ids['shop_schedule']}/").status_code == 404


def test_oncall_runs_the_same_queries_however_many_schedules(api, viewer):
    seed(api)
    with count_queries(api) as few:
        assert viewer.get("/oncall/").status_code == 200
    with count_queries(api) as few_schedules:
        assert viewer.get("/oncall/schedules/").status_code == 200
    with api.collector.session() as session:
        for i in range(10):
            project = make_project(session)
            developers = [make_developer(session).id for _ in range(3)]
            create_rotation(
                session, schedule_name=f"more-{i}", project_id=project.id, participant_ids=developers, **DAILY
            )
        session.commit()
    with count_queries(api) as many:
        assert len(viewer.get("/oncall/").json()) == 13
    with count_queries(api) as many_schedules:
        assert len(viewer.get("/oncall/schedules/").json()) == 12
    assert len(many) == len(few)
    assert len(many_schedules) == len(few_schedules)
