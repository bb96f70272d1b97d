"""projects/ and projects/{id}/escalation-chain/ through HTTP: DSNs, alert settings, chains, all audited."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text

from db.enums import EscalationCondition, Severity
from db.models import AuditEntry, EscalationChain, EscalationStep, Event, Project, Team
from tests.collector.api.querycount import count_queries
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event
from tests.db.factories import make_developer, make_project

SECRET_HOOK = "https://hooks.example.com/services/T000/B000/very-secret"


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def seed(api) -> dict[str, int]:
    with api.collector.session() as session:
        team = Team(name="payments")
        session.add(team)
        lead = make_developer(session, name="Lead")
        gone = make_developer(session, name="Gone", is_active=False)
        session.commit()
        return {"team": team.id, "lead": lead.id, "gone": gone.id}


def test_projects_list_their_dsns_team_and_alert_settings(api, viewer, admin):
    ids = seed(api)
    project_id, dsn, _ = api.collector.create_project("shop")
    with api.collector.session() as session:
        project = session.get_one(Project, project_id)
        project.team_id = ids["team"]
        project.fallback_developer_id = ids["lead"]
        project.alert_threshold_events, project.alert_threshold_minutes = 50, 5
        project.alert_environments = ["production"]
        project.webhook_url = SECRET_HOOK
        make_project(session, "api")
        session.commit()
    listed = viewer.get("/projects/").json()
    assert [p["name"] for p in listed] == ["api", "shop"]
    shop = listed[1]
    # The DSN the serving collector hands out: its public URL, the project's public key and id.
    served = api.collector.server.config.app.state.settings
    assert shop["dsns"] == [served.dsn_for(urlsplit(dsn).username, project_id)]
    assert shop["team"] == {"id": ids["team"], "name": "payments"}
    assert shop["fallback_developer"]["name"] == "Lead"
    assert (shop["alert_threshold_events"], shop["alert_threshold_minutes"]) == (50, 5)
    assert shop["alert_environments"] == ["production"]
    # A webhook URL often carries its secret in the path: only admins see it whole.
    assert shop["webhook_url"] == "https://hooks.example.com/…"
    assert admin.get(f"/projects/{project_id}/").json()["webhook_url"] == SECRET_HOOK
    assert viewer.get("/projects/999999/").status_code == 404


def test_a_project_created_through_the_api_takes_events_at_once(api, admin):
    made = admin.post("/projects/", json={"name": "orders-api", "platform": "python"})
    assert made.status_code == 201, made.text
    project, token = made.json()["project"], made.json()["webhook_token"]
    assert (project["name"], project["platform"], len(project["dsns"])) == ("orders-api", "python", 1)
    assert admin.get(f"/projects/{project['id']}/").json() == project
    with api.collector.client() as client:
        envelope = make_envelope(make_event("payment declined"))
        sent = client.post(
            f"/api/{project['id']}/envelope/", content=envelope, headers=auth_header(key_of(project["dsns"][0]))
        )
        assert sent.status_code == 200, sent.text
        hook = client.post(
            "/api/error-logging/webhook/generic/", json={"message": "refund failed"}, headers={"X-Errlog-Token": token}
        )
        assert hook.status_code == 200, hook.text
    with api.collector.session() as session:
        stored = session.scalars(select(Event.project_id)).all()
    assert stored == [project["id"], project["id"]]
    (entry,) = audit_rows(api, "project.create")
    assert (entry.actor, entry.target_id, entry.after) == (
        "admin-token",
        str(project["id"]),
        {"name": "orders-api", "platform": "python"},
    )


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"name": "shop"}, 409, "a project named 'shop' already exists"),
        ({"name": ""}, 422, "body.name"),
        ({"name": "-shop"}, 422, "body.name"),
        ({"name": "my shop"}, 422, "body.name"),
        ({"name": "x" * 101}, 422, "body.name"),
        ({"name": "api", "platform": "Python 3"}, 422, "body.platform"),
        ({"platform": "python"}, 422, "body.name"),
        ({"name": "api", "team_id": 1}, 422, "body.team_id"),
    ],
)
def test_bad_new_projects_are_refused_and_nothing_is_made(api, admin, body, status, reason):
    api.collector.create_project("shop")
    answer = admin.post("/projects/", json=body)
    assert answer.status_code == status, answer.text
    assert reason in answer.text
    assert [p["name"] for p in admin.get("/projects/").json()] == ["shop"]
    assert audit_rows(api, "project.create") == []


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_creations_of_one_name_at_once_give_the_second_a_409(api, admin):
    """The race itself, made certain: another transaction inserts the name and commits only once this request has
    checked the name and is waiting on the unique index with its own insert."""
    with api.collector.session() as other:
        other.add(Project(name="orders-api"))
        other.flush()  # holds the name in the unique index, uncommitted
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(admin.post, "/projects/", json={"name": "orders-api"})
            deadline = time.monotonic() + 10
            while not _waiting_on_a_lock(other):
                assert time.monotonic() < deadline, "the request never reached its insert"
                time.sleep(0.05)
            other.commit()
            answer = pending.result(timeout=20)
    assert answer.status_code == 409, answer.text
    assert "conflicts with another made at the same time" in answer.json()["detail"]
    assert len(admin.get("/projects/").json()) == 1
    assert audit_rows(api, "project.create") == []


def _waiting_on_a_lock(session) -> bool:
    """Whether another backend waits on a lock (the request's insert, on the name this session holds)."""
    waiting = session.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
    ).scalar_one()
    return bool(waiting)


def test_only_admins_create_projects(api, viewer, responder):
    for client in (viewer, responder):
        assert client.post("/projects/", json={"name": "api"}).status_code == 403
    assert viewer.get("/projects/").json() == []


def test_patch_project_alert_settings_is_audited(api, admin):
    ids = seed(api)
    project_id, _, _ = api.collector.create_project("shop")
    response = admin.patch(
        f"/projects/{project_id}/",
        json={
            "platform": "python",
            "team_id": ids["team"],
            "fallback_developer_id": ids["lead"],
            "alert_threshold_events": 100,
            "alert_threshold_minutes": 10,
            "alert_environments": ["production", " staging ", "production"],
            "routing": {"critical": ["sms", "slack", "sms"], "medium": []},
            "webhook_url": SECRET_HOOK,
            "scrub_emails": True,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["team"]["name"] == "payments"
    assert body["fallback_developer"]["id"] == ids["lead"]
    assert body["alert_environments"] == ["production", "staging"]
    assert body["routing"] == {"critical": ["sms", "slack"], "medium": []}
    with api.collector.session() as session:
        project = session.get_one(Project, project_id)
        assert (project.platform, project.scrub_emails, project.scrub_ip_addresses) == ("python", True, False)
        assert project.routing == {"critical": ["sms", "slack"], "medium": []}
        assert project.webhook_url == SECRET_HOOK
    [entry] = audit_rows(api, "project.update")
    assert entry.before["alert_threshold_events"] is None
    assert entry.after["alert_threshold_events"] == 100
    assert entry.after["webhook_url"] == "https://hooks.example.com/…"  # the audit log is for viewers too
    assert "scrub_ip_addresses" not in entry.after

    cleared = admin.patch(f"/projects/{project_id}/", json={"alert_environments": None, "team_id": None})
    assert cleared.status_code == 200
    assert (cleared.json()["alert_environments"], cleared.json()["team"]) == (None, None)
    assert len(audit_rows(api, "project.update")) == 2


def test_patch_a_projects_events_per_minute_limit(api, admin, viewer):
    project_id, _, _ = api.collector.create_project("shop")
    response = admin.patch(f"/projects/{project_id}/", json={"max_events_per_minute": 600})
    assert response.status_code == 200, response.text
    assert response.json()["max_events_per_minute"] == 600
    assert viewer.get(f"/projects/{project_id}/").json()["max_events_per_minute"] == 600
    [entry] = audit_rows(api, "project.update")
    assert (entry.before, entry.after) == ({"max_events_per_minute": None}, {"max_events_per_minute": 600})
    cleared = admin.patch(f"/projects/{project_id}/", json={"max_events_per_minute": None})
    assert cleared.json()["max_events_per_minute"] is None
    with api.collector.session() as session:
        assert session.get_one(Project, project_id).max_events_per_minute is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alert_threshold_events": 100}, "body.alert_threshold_minutes"),
        ({"alert_threshold_minutes": 0}, "body.alert_threshold_minutes"),
        ({"routing": {"critical": ["pigeon"]}}, "body.routing"),
        ({"routing": {"urgent": ["sms"]}}, "body.routing"),
        ({"routing": {"critical": "sms"}}, "body.routing"),
        ({"team_id": 999999}, "body.team_id"),
        ({"fallback_developer_id": 999999}, "body.fallback_developer_id"),
        ({"webhook_url": "ftp://example.com/x"}, "body.webhook_url"),
        ({"alert_environments": []}, "body.alert_environments"),
        ({"alert_environments": [""]}, "body.alert_environments.0"),
        ({"scrub_emails": None}, "body.scrub_emails"),
        ({"name": "renamed"}, "body.name"),
        ({"webhook_url": "https://example.com/\x00"}, "body.webhook_url"),
        ({"team_id": 2**40}, "body.team_id"),
        ({"max_events_per_minute": 0}, "body.max_events_per_minute"),
        ({"max_events_per_minute": "many"}, "body.max_events_per_minute"),
        ({"platform": "Py thon"}, "body.platform"),  # the rule `errlog project create --platform` follows too
        ({"platform": ""}, "body.platform"),
    ],
)
def test_bad_project_changes_are_422_naming_the_field(api, admin, body, field):
    seed(api)
    project_id, _, _ = api.collector.create_project("shop")
    response = admin.patch(f"/projects/{project_id}/", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert audit_rows(api, "project.update") == []


def test_an_inactive_fallback_developer_is_refused(api, admin):
    ids = seed(api)
    project_id, _, _ = api.collector.create_project("shop")
    response = admin.patch(f"/projects/{project_id}/", json={"fallback_developer_id": ids["gone"]})
    assert response.status_code == 422
    assert "inactive" in response.json()["detail"]
    assert admin.patch("/projects/999999/", json={}).status_code == 404
    assert admin.patch(f"/projects/{2**70}/", json={}).status_code == 404


def test_projects_list_runs_the_same_queries_however_many_projects(api, viewer):
    seed(api)
    api.collector.create_project("one")
    with count_queries(api) as few:
        assert viewer.get("/projects/").status_code == 200
    for i in range(8):
        api.collector.create_project(f"more-{i}")
    with count_queries(api) as many:
        assert len(viewer.get("/projects/").json()) == 9
    assert len(many) == len(few)


# Escalation chains

CHAIN = [
    {"severity": "critical", "after_minutes": 15, "target_level": 2},
    {"severity": "critical", "after_minutes": 45, "target_level": 3},
    {"severity": "high", "condition": "unresolved", "after_minutes": 360, "target_level": 2},
]


def test_a_project_without_a_chain_has_an_empty_one(api, viewer):
    project_id, _, _ = api.collector.create_project("shop")
    chain = viewer.get(f"/projects/{project_id}/escalation-chain/").json()
    assert chain == {"id": None, "project_id": project_id, "name": None, "steps": []}
    assert viewer.get("/projects/999999/escalation-chain/").status_code == 404


def test_put_and_replace_an_escalation_chain(api, admin, viewer):
    ids = seed(api)
    project_id, _, _ = api.collector.create_project("shop")
    path = f"/projects/{project_id}/escalation-chain/"
    steps = [*CHAIN, {"after_minutes": 120, "target_developer_id": ids["lead"], "position": 4}]
    response = admin.put(path, json={"name": "shop-chain", "steps": steps})
    assert response.status_code == 200, response.text
    chain = response.json()
    assert [s["position"] for s in chain["steps"]] == [1, 2, 3, 4]
    assert chain["steps"][2]["condition"] == "unresolved"
    assert chain["steps"][3]["target_developer"]["name"] == "Lead"
    assert chain["steps"][3]["severity"] is None
    assert viewer.get(path).json() == chain
    with api.collector.session() as session:
        stored = session.scalars(select(EscalationStep).order_by(EscalationStep.position)).all()
        assert [(s.severity, s.condition, s.after_minutes, s.target_level) for s in stored[:3]] == [
            (Severity.CRITICAL, EscalationCondition.UNACKNOWLEDGED, 15, 2),
            (Severity.CRITICAL, EscalationCondition.UNACKNOWLEDGED, 45, 3),
            (Severity.HIGH, EscalationCondition.UNRESOLVED, 360, 2),
        ]
    [entry] = audit_rows(api, "project.escalation_chain.update")
    assert entry.before is None
    assert len(entry.after["steps"]) == 4

    replaced = admin.put(path, json={"steps": CHAIN[:1]})
    assert replaced.status_code == 200
    assert replaced.json()["id"] == chain["id"]
    with api.collector.session() as session:
        assert len(session.scalars(select(EscalationStep)).all()) == 1
        assert session.scalars(select(EscalationChain.name)).one() == "default"
    second = audit_rows(api, "project.escalation_chain.update")[1]
    assert len(second.before["steps"]) == 4
    assert second.after["steps"][0]["after_minutes"] == 15


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([{"after_minutes": 15}], "body.steps.0"),
        ([{"after_minutes": -1, "target_level": 2}], "body.steps.0.after_minutes"),
        ([{"after_minutes": 5, "target_level": 0}], "body.steps.0.target_level"),
        ([{"after_minutes": 5, "target_level": 2, "severity": "urgent"}], "body.steps.0.severity"),
        ([{"after_minutes": 5, "target_level": 2, "condition": "ignored"}], "body.steps.0.condition"),
        ([{**CHAIN[0], "position": 1}, {**CHAIN[1], "position": 3}], "body.steps.1.position"),
        ([{**CHAIN[0], "position": 2}, CHAIN[1]], "body.steps.0.position"),
        ([{"after_minutes": 5, "target_developer_id": 999999}], "body.steps.0.target_developer_id"),
    ],
)
def test_bad_chains_are_422_naming_the_step(api, admin, steps, field):
    seed(api)
    project_id, _, _ = api.collector.create_project("shop")
    response = admin.put(f"/projects/{project_id}/escalation-chain/", json={"steps": steps})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    with api.collector.session() as session:
        assert session.scalars(select(EscalationChain)).all() == []
    assert audit_rows(api, "project.escalation_chain.update") == []


def test_an_inactive_developer_cannot_be_an_escalation_target(api, admin):
    ids = seed(api)
    project_id, _, _ = api.collector.create_project("shop")
    response = admin.put(
        f"/projects/{project_id}/escalation-chain/",
        json={"steps": [{"after_minutes": 5, "target_developer_id": ids["gone"]}]},
    )
    assert response.status_code == 422
    assert "inactive" in response.json()["detail"]
    assert admin.put("/projects/999999/escalation-chain/", json={"steps": []}).status_code == 404
    assert admin.get(f"/projects/{2**70}/escalation-chain/").status_code == 404
