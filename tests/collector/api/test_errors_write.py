"""Error actions through HTTP: the response, what the database then holds, the audit trail, roles, bad bodies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import get_args

import httpx
import pytest
from sqlalchemy import select

from collector.api.error_actions import ACTIONS, ActionName
from collector.api.schemas import ErrorOut
from db.enums import IssueStatus, IssueSubstatus, Role, Severity
from db.models import AuditEntry, Comment, Developer, Escalation, Issue, Project
from db.oncall import create_rotation
from db.tokens import revoke_token
from tests.db.factories import make_developer, make_issue, make_project

LONG_AGO = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@dataclass
class World:
    project_id: int
    ana: int  # developers
    ben: int
    cat: int


@pytest.fixture
def world(api) -> World:
    with api.collector.session() as session:
        project = make_project(session, "payments")
        ana, ben, cat = (make_developer(session, name) for name in ("Ana", "Ben", "Cat"))
        session.commit()
        return World(project.id, ana.id, ben.id, cat.id)


def seed(api, world: World, **fields) -> int:
    """A new error in the payments project, last changed long ago."""
    with api.collector.session() as session:
        fields.setdefault("updated_at", LONG_AGO)
        project = session.get(Project, world.project_id)
        issue = make_issue(session, project, **fields)
        session.commit()
        return issue.id


def stored(api, error_id: int) -> Issue:
    with api.collector.session() as session:
        issue = session.get(Issue, error_id)
        assert issue is not None
        return issue


def audits(api, error_id: int) -> list[AuditEntry]:
    with api.collector.session() as session:
        query = select(AuditEntry).where(AuditEntry.target_type == "error", AuditEntry.target_id == str(error_id))
        return list(session.scalars(query.order_by(AuditEntry.id)))


def put_on_call(api, world: World, level: int, developer_id: int, schedule: str = "payments on-call") -> None:
    with api.collector.session() as session:
        create_rotation(
            session,
            schedule_name=schedule,
            project_id=world.project_id,
            level=level,
            participant_ids=[developer_id],
            start_date=dt.date.today() - dt.timedelta(days=3),
            handoff_time=dt.time(0),
            timezone="UTC",
            shift_hours=24 * 7,
        )
        session.commit()


def ok(response: httpx.Response) -> ErrorOut:
    assert response.status_code == 200, response.text
    return ErrorOut.model_validate(response.json())


def refused(response: httpx.Response, status: int, field: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    if field is not None:
        assert body["field"] == field
        assert field in [problem["field"] for problem in body["errors"]]
    return body["detail"]


def assert_audited(api, error_id: int, action: str, before: dict, after: dict, actor: str = "responder-token"):
    [entry] = [e for e in audits(api, error_id) if e.action == action]
    assert (entry.actor, entry.client_address) == (actor, "127.0.0.1")
    assert entry.before == before
    assert entry.after == after
    return entry


# Resolve


def test_resolve_now(api, world, responder):
    error_id = seed(api, world, substatus=IssueSubstatus.ONGOING)

    out = ok(responder.post(f"/errors/{error_id}/resolve/", json={}))

    issue = stored(api, error_id)
    assert out.status == issue.status == IssueStatus.RESOLVED
    assert issue.resolved_at == out.resolved_at == issue.updated_at == out.updated_at
    assert issue.updated_at > LONG_AGO
    assert (issue.resolved_in_release, issue.resolved_in_next_release) == (None, False)
    entry = assert_audited(
        api,
        error_id,
        "error.resolve",
        before={"status": "unresolved", "substatus": "ongoing", "resolved_at": None},
        after={"status": "resolved", "substatus": None, "resolved_at": issue.resolved_at.isoformat()},
    )
    assert entry.token_id is not None


def test_resolve_in_a_release_and_in_the_next_release(api, world, responder):
    named = seed(api, world)
    next_one = seed(api, world, last_release="shop@1.4.2")

    assert (
        ok(responder.post(f"/errors/{named}/resolve/", json={"in_release": " 1.5.0 "})).resolved_in_release == "1.5.0"
    )
    out = ok(responder.post(f"/errors/{next_one}/resolve/", json={"in_next_release": True}))

    assert (out.resolved_in_release, out.resolved_in_next_release) == ("shop@1.4.2", True)
    issue = stored(api, next_one)
    assert (issue.status, issue.resolved_in_release, issue.resolved_in_next_release) == (
        IssueStatus.RESOLVED,
        "shop@1.4.2",
        True,
    )
    assert stored(api, named).resolved_in_release == "1.5.0"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"in_release": "1.0", "in_next_release": True}, "body"),
        ({"in_release": ""}, "body.in_release"),
        ({"in_next_release": "soon"}, "body.in_next_release"),
        ({"in_release": "1.0", "colour": "red"}, "body.colour"),
    ],
)
def test_resolve_bad_bodies(api, world, responder, body, field):
    error_id = seed(api, world)
    refused(responder.post(f"/errors/{error_id}/resolve/", json=body), 422, field)
    assert stored(api, error_id).status == IssueStatus.UNRESOLVED
    assert audits(api, error_id) == []


def test_unknown_errors_are_404(responder):
    assert "no error with id 424242" in refused(responder.post("/errors/424242/resolve/", json={}), 404)
    refused(responder.post(f"/errors/{2**70}/reopen/"), 404)
    refused(responder.patch("/errors/0/", json={"severity": "low"}), 404)


# Assign


def test_assign_by_id_and_by_email(api, world, responder):
    error_id = seed(api, world)

    out = ok(responder.post(f"/errors/{error_id}/assign/", json={"developer_id": world.ana}))
    assert out.assignee is not None and (out.assignee.id, out.assignee.name) == (world.ana, "Ana")
    issue = stored(api, error_id)
    assert issue.assignee_id == world.ana and issue.assigned_at == issue.updated_at

    detail = refused(responder.post(f"/errors/{error_id}/assign/", json={"developer": "nobody@example.com"}), 422)
    assert "no developer with e-mail nobody@example.com" in detail
    with api.collector.session() as session:
        ben_email = session.get(Developer, world.ben).email
    out = ok(responder.post(f"/errors/{error_id}/assign/", json={"developer": ben_email.upper()}))
    assert out.assignee is not None and out.assignee.id == world.ben
    entries = [e for e in audits(api, error_id) if e.action == "error.assign"]
    assert [(e.before["assignee_id"], e.after["assignee_id"]) for e in entries] == [
        (None, world.ana),
        (world.ana, world.ben),
    ]
    assert all(e.client_address == "127.0.0.1" for e in entries)


def test_assign_refuses_unknown_and_inactive_developers(api, world, responder):
    error_id = seed(api, world)
    with api.collector.session() as session:
        session.get(Developer, world.cat).is_active = False
        session.commit()

    detail = refused(
        responder.post(f"/errors/{error_id}/assign/", json={"developer_id": 999_999}), 422, "body.developer_id"
    )
    assert "no developer with id 999999" in detail
    detail = refused(
        responder.post(f"/errors/{error_id}/assign/", json={"developer_id": world.cat}), 422, "body.developer_id"
    )
    assert "inactive" in detail
    refused(responder.post(f"/errors/{error_id}/assign/", json={}), 422, "body")
    refused(responder.post(f"/errors/{error_id}/assign/", json={"developer_id": world.ana, "auto": True}), 422, "body")
    refused(responder.post(f"/errors/{error_id}/assign/", json={"developer_id": "ana"}), 422, "body.developer_id")
    assert stored(api, error_id).assignee_id is None
    assert audits(api, error_id) == []


def test_auto_assign_picks_the_lighter_level_one_on_call_developer(api, world, responder):
    # Ana and Ben are both level-1 on call (two schedules); Cat, on level 2, has no load at all.
    put_on_call(api, world, 1, world.ana, "payments primary")
    put_on_call(api, world, 1, world.ben, "payments backend")
    put_on_call(api, world, 2, world.cat, "payments primary")
    # Ana holds two low errors, Ben one critical: by count Ben is lighter, but a critical weighs more.
    seed(api, world, severity=Severity.LOW, assignee_id=world.ana)
    seed(api, world, severity=Severity.LOW, assignee_id=world.ana)
    seed(api, world, severity=Severity.CRITICAL, assignee_id=world.ben)
    seed(api, world, severity=Severity.CRITICAL, assignee_id=world.ben, status=IssueStatus.RESOLVED)
    error_id = seed(api, world)

    out = ok(responder.post(f"/errors/{error_id}/assign/", json={"auto": True}))

    assert out.assignee is not None and out.assignee.id == world.ana
    assert stored(api, error_id).assignee_id == world.ana
    assert_audited(
        api,
        error_id,
        "error.assign",
        before={"assignee_id": None, "assigned_at": None},
        after={"assignee_id": world.ana, "assigned_at": out.assigned_at.isoformat(), "auto": True},
    )

    # Now Ana carries 2 + 2 (this high error): Ben (3) is lighter for the next one.
    second = seed(api, world)
    assert ok(responder.post(f"/errors/{second}/assign/", json={"auto": True})).assignee.id == world.ben


def test_auto_assign_with_nobody_on_call_is_409_with_a_reason(api, world, responder):
    error_id = seed(api, world)
    detail = refused(responder.post(f"/errors/{error_id}/assign/", json={"auto": True}), 409)
    assert "nobody is on call for payments" in detail
    assert stored(api, error_id).assignee_id is None


# Acknowledge


def test_acknowledge_records_the_token_or_its_developer(api, world, responder):
    by_token = seed(api, world)
    by_developer = seed(api, world)
    secret = api.token("ana-phone", Role.RESPONDER, developer_id=world.ana)

    out = ok(responder.post(f"/errors/{by_token}/acknowledge/"))
    assert (out.status, out.acknowledged_by) == (IssueStatus.ACKNOWLEDGED, "responder-token")
    with api.as_role(None) as client:
        out = ok(client.post(f"/errors/{by_developer}/acknowledge/", headers={"Authorization": f"Bearer {secret}"}))
    assert out.acknowledged_by == "Ana"

    issue = stored(api, by_developer)
    assert (issue.status, issue.acknowledged_by) == (IssueStatus.ACKNOWLEDGED, "Ana")
    assert issue.acknowledged_at == issue.updated_at
    assert_audited(
        api,
        by_developer,
        "error.acknowledge",
        before={"status": "unresolved", "acknowledged_at": None, "acknowledged_by": None},
        after={
            "status": "acknowledged",
            "acknowledged_at": issue.acknowledged_at.isoformat(),
            "acknowledged_by": "Ana",
        },
        actor="ana-phone",
    )


def test_acknowledging_a_resolved_error_is_409(api, world, responder):
    error_id = seed(api, world, status=IssueStatus.RESOLVED)
    assert "only unresolved errors can be acknowledged" in refused(
        responder.post(f"/errors/{error_id}/acknowledge/"), 409
    )
    assert stored(api, error_id).status == IssueStatus.RESOLVED
    assert audits(api, error_id) == []


# Escalate


def test_escalate_to_the_next_level(api, world, responder):
    put_on_call(api, world, 1, world.ana)
    put_on_call(api, world, 2, world.ben)
    error_id = seed(api, world, assignee_id=world.ana, escalation_level=1, severity=Severity.CRITICAL)

    out = ok(responder.post(f"/errors/{error_id}/escalate/", json={"reason": "primary is asleep"}))

    assert (out.escalation_level, out.substatus) == (2, IssueSubstatus.ESCALATING)
    assert out.assignee is not None and out.assignee.id == world.ben
    with api.collector.session() as session:
        [row] = session.scalars(select(Escalation).where(Escalation.issue_id == error_id)).all()
        assert (row.level, row.from_developer_id, row.to_developer_id) == (2, world.ana, world.ben)
        assert (row.reason, row.actor) == ("primary is asleep", "responder-token")
    issue = stored(api, error_id)
    assert (issue.escalation_level, issue.assignee_id, issue.substatus) == (2, world.ben, IssueSubstatus.ESCALATING)
    assert_audited(
        api,
        error_id,
        "error.escalate",
        before={"substatus": "new", "assignee_id": world.ana, "assigned_at": None, "escalation_level": 1},
        after={
            "substatus": "escalating",
            "assignee_id": world.ben,
            "assigned_at": issue.assigned_at.isoformat(),
            "escalation_level": 2,
            "escalation_id": row.id,
            "reason": "primary is asleep",
        },
    )

    detail = refused(responder.post(f"/errors/{error_id}/escalate/", json={"reason": "still asleep"}), 409)
    assert "no level 3 on-call" in detail
    assert stored(api, error_id).escalation_level == 2


def test_escalate_to_a_named_developer(api, world, responder):
    error_id = seed(api, world, assignee_id=world.ana)

    out = ok(responder.post(f"/errors/{error_id}/escalate/", json={"reason": "needs Cat", "developer_id": world.cat}))

    assert out.assignee is not None and out.assignee.id == world.cat and out.escalation_level == 1
    with api.collector.session() as session:
        [row] = session.scalars(select(Escalation).where(Escalation.issue_id == error_id)).all()
        assert (row.level, row.from_developer_id, row.to_developer_id) == (1, world.ana, world.cat)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "body.reason"),
        ({"reason": "   "}, 422, "body.reason"),
        ({"reason": "x", "developer_id": 999_999}, 422, "body.developer_id"),
        ({"reason": "x", "developer_id": -1}, 422, "body.developer_id"),
    ],
)
def test_escalate_bad_bodies(api, world, responder, body, status, field):
    error_id = seed(api, world)
    refused(responder.post(f"/errors/{error_id}/escalate/", json=body), status, field)
    assert stored(api, error_id).escalation_level == 0


def test_escalating_a_resolved_error_is_409(api, world, responder):
    error_id = seed(api, world, status=IssueStatus.RESOLVED)
    body = {"reason": "x", "developer_id": world.ana}
    assert "only unresolved or acknowledged" in refused(responder.post(f"/errors/{error_id}/escalate/", json=body), 409)


# Ignore


def test_ignore_forever(api, world, responder):
    error_id = seed(api, world)
    out = ok(responder.post(f"/errors/{error_id}/ignore/", json={}))
    issue = stored(api, error_id)
    assert out.status == issue.status == IssueStatus.IGNORED
    assert (issue.snooze_until, issue.snooze_event_limit, issue.snooze_user_limit) == (None, None, None)
    assert_audited(
        api,
        error_id,
        "error.ignore",
        before={"status": "unresolved", "substatus": "new"},
        after={"status": "ignored", "substatus": None},
    )


def test_ignore_for_a_duration_and_until_a_time(api, world, responder):
    for_a_while = seed(api, world)
    until_then = seed(api, world)
    then = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)

    ok(responder.post(f"/errors/{for_a_while}/ignore/", json={"duration_minutes": 90}))
    ok(responder.post(f"/errors/{until_then}/ignore/", json={"until": then.isoformat()}))

    issue = stored(api, for_a_while)
    assert issue.status == IssueStatus.IGNORED
    assert issue.snooze_until == issue.updated_at + dt.timedelta(minutes=90)
    assert stored(api, until_then).snooze_until == then


def test_ignore_until_more_events_or_users(api, world, responder):
    error_id = seed(api, world, times_seen=40, users_affected=7)

    out = ok(responder.post(f"/errors/{error_id}/ignore/", json={"events": 100, "users": 5}))

    assert (out.snooze_event_limit, out.snooze_user_limit, out.snooze_until) == (100, 5, None)
    issue = stored(api, error_id)
    assert (issue.snooze_event_limit, issue.snooze_events_at_start) == (100, 40)
    assert (issue.snooze_user_limit, issue.snooze_users_at_start) == (5, 7)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "2020-01-01T00:00:00Z"}, "body.until"),
        ({"until": "2999-01-01T00:00:00"}, "body.until"),  # no time zone
        ({"until": "9999-12-31T23:00:00-05:00"}, "body.until"),  # beyond year 9999 in UTC
        ({"until": "2999-01-01T00:00:00Z", "duration_minutes": 5}, "body"),
        ({"duration_minutes": 0}, "body.duration_minutes"),
        ({"events": 0}, "body.events"),
        ({"users": -3}, "body.users"),
    ],
)
def test_ignore_bad_bodies(api, world, responder, body, field):
    error_id = seed(api, world)
    refused(responder.post(f"/errors/{error_id}/ignore/", json=body), 422, field)
    assert stored(api, error_id).status == IssueStatus.UNRESOLVED


# Reopen and comment


def test_reopen(api, world, responder):
    error_id = seed(api, world, status=IssueStatus.RESOLVED, resolved_at=LONG_AGO, resolved_in_release="1.0")

    out = ok(responder.post(f"/errors/{error_id}/reopen/"))

    issue = stored(api, error_id)
    assert out.status == issue.status == IssueStatus.UNRESOLVED
    assert (issue.resolved_at, issue.resolved_in_release, issue.substatus) == (None, None, IssueSubstatus.ONGOING)
    assert "already unresolved" in refused(responder.post(f"/errors/{error_id}/reopen/"), 409)
    assert [e.action for e in audits(api, error_id)] == ["error.reopen"]


def test_comment(api, world, responder):
    error_id = seed(api, world)

    out = ok(responder.post(f"/errors/{error_id}/comment/", json={"body": "  rolled back the deploy  "}))

    with api.collector.session() as session:
        [comment] = session.scalars(select(Comment).where(Comment.issue_id == error_id)).all()
        assert (comment.author, comment.body) == ("responder-token", "rolled back the deploy")
    assert out.updated_at == stored(api, error_id).updated_at > LONG_AGO
    assert_audited(api, error_id, "error.comment", before={}, after={"comment_id": comment.id})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.body"),
        ({"body": " "}, "body.body"),
        ({"body": "x" * 10_001}, "body.body"),
        ({"body": "a\x00b"}, "body.body"),
    ],
)
def test_comment_bad_bodies(api, world, responder, body, field):
    error_id = seed(api, world)
    refused(responder.post(f"/errors/{error_id}/comment/", json=body), 422, field)


# PATCH


def test_patch_status_severity_and_assignee_each_audited(api, world, responder):
    error_id = seed(api, world, severity=Severity.MEDIUM)

    out = ok(
        responder.patch(
            f"/errors/{error_id}/", json={"status": "resolved", "severity": "critical", "assignee_id": world.ben}
        )
    )

    assert (out.status, out.severity) == (IssueStatus.RESOLVED, Severity.CRITICAL)
    assert out.assignee is not None and out.assignee.id == world.ben
    issue = stored(api, error_id)
    assert (issue.status, issue.severity, issue.assignee_id) == (IssueStatus.RESOLVED, Severity.CRITICAL, world.ben)
    assert [e.action for e in audits(api, error_id)] == ["error.resolve", "error.severity", "error.assign"]
    assert_audited(api, error_id, "error.severity", before={"severity": "medium"}, after={"severity": "critical"})

    out = ok(responder.patch(f"/errors/{error_id}/", json={"assignee_id": None, "status": "resolved"}))
    assert out.assignee is None and stored(api, error_id).assignee_id is None
    assert [e.action for e in audits(api, error_id)] == [
        "error.resolve",
        "error.severity",
        "error.assign",
        "error.assign",
    ]


def test_patch_status_goes_through_the_transitions(api, world, responder):
    error_id = seed(api, world)
    assert (
        ok(responder.patch(f"/errors/{error_id}/", json={"status": "acknowledged"})).acknowledged_by
        == "responder-token"
    )
    detail = refused(responder.patch(f"/errors/{error_id}/", json={"status": "unresolved"}), 409)
    assert "cannot be un-acknowledged" in detail
    assert ok(responder.patch(f"/errors/{error_id}/", json={"status": "ignored"})).status == IssueStatus.IGNORED
    assert ok(responder.patch(f"/errors/{error_id}/", json={"status": "unresolved"})).status == IssueStatus.UNRESOLVED
    assert [e.action for e in audits(api, error_id)] == ["error.acknowledge", "error.ignore", "error.reopen"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"status": None}, "body.status"),
        ({"status": "fixed"}, "body.status"),
        ({"severity": "urgent"}, "body.severity"),
        ({"assignee_id": 999_999}, "body.assignee_id"),
        ({"title": "renamed"}, "body.title"),
    ],
)
def test_patch_bad_bodies(api, world, responder, body, field):
    error_id = seed(api, world)
    refused(responder.patch(f"/errors/{error_id}/", json=body), 422, field)
    assert audits(api, error_id) == []


@pytest.mark.parametrize(
    "body",
    [b"{nope", b"[" * 5000 + b"]" * 5000, b'{"note": ' + b"7" * 5000 + b"}"],
    ids=["malformed", "nested too deeply", "number too long"],
)
def test_a_body_that_is_not_json_is_400(api, world, responder, body):
    error_id = seed(api, world)
    refused(responder.post(f"/errors/{error_id}/resolve/", content=body), 400)


# Bulk


def test_bulk_by_ids_with_a_partial_failure(api, world, responder):
    fresh = seed(api, world)
    resolved = seed(api, world, status=IssueStatus.RESOLVED)
    acknowledged = seed(api, world, status=IssueStatus.ACKNOWLEDGED, acknowledged_by="someone")

    response = responder.post(
        "/errors/bulk/", json={"ids": [fresh, resolved, 987_654, acknowledged, fresh], "action": "acknowledge"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["action"], body["matched"], body["succeeded"], body["failed"]) == ("acknowledge", 4, 2, 2)
    results = {r["id"]: r for r in body["results"]}
    assert [r["id"] for r in body["results"]] == [fresh, resolved, 987_654, acknowledged]
    assert results[fresh] == {"id": fresh, "ok": True, "error": None}
    assert results[acknowledged]["ok"] is True
    assert not results[resolved]["ok"] and "only unresolved errors can be acknowledged" in results[resolved]["error"]
    assert results[987_654] == {"id": 987_654, "ok": False, "error": "no error with id 987654"}
    assert stored(api, fresh).status == IssueStatus.ACKNOWLEDGED
    assert stored(api, resolved).status == IssueStatus.RESOLVED
    assert stored(api, acknowledged).acknowledged_by == "someone"
    assert [e.action for e in audits(api, fresh)] == ["error.acknowledge"]
    assert audits(api, resolved) == []


def test_bulk_by_query_with_a_partial_failure(api, world, responder):
    resolved = seed(api, world, status=IssueStatus.RESOLVED, title="TimeoutError: upstream")
    ignored = seed(api, world, status=IssueStatus.IGNORED, title="TimeoutError: db")
    still_open = seed(api, world, title="TimeoutError: cache")
    seed(api, world, status=IssueStatus.RESOLVED, title="KeyError: sku")  # does not match the text
    with api.collector.session() as session:
        other = make_issue(session, make_project(session, "search"), status=IssueStatus.RESOLVED, title="TimeoutError")
        session.commit()

    response = responder.post("/errors/bulk/", json={"q": 'service:payments "timeouterror"', "action": "reopen"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["matched"], body["succeeded"], body["failed"]) == (3, 2, 1)
    assert [(r["id"], r["ok"]) for r in body["results"]] == [(resolved, True), (ignored, True), (still_open, False)]
    assert "already unresolved" in body["results"][2]["error"]
    assert {stored(api, i).status for i in (resolved, ignored, still_open)} == {IssueStatus.UNRESOLVED}
    assert stored(api, other.id).status == IssueStatus.RESOLVED
    assert [e.action for e in audits(api, resolved)] == ["error.reopen"]
    assert audits(api, still_open) == []


def test_bulk_by_query_refuses_bad_and_oversized_searches(api, world, responder):
    response = responder.post("/errors/bulk/", json={"q": "is:sideways", "action": "resolve"})
    assert response.status_code == 400
    assert "sideways" in response.json()["detail"] and response.json()["field"] == "body.q"
    with api.collector.session() as session:
        project = session.get(Project, world.project_id)
        session.add_all(Issue(project_id=project.id, fingerprint=f"fp{i}", title="bulk") for i in range(1001))
        session.commit()
    detail = refused(responder.post("/errors/bulk/", json={"q": "is:unresolved", "action": "resolve"}), 422, "body.q")
    assert "more than 1000" in detail
    with api.collector.session() as session:
        assert session.scalars(select(Issue.id).where(Issue.status != IssueStatus.UNRESOLVED)).all() == []


def test_bulk_auto_assign_spreads_the_errors(api, world, responder):
    put_on_call(api, world, 1, world.ana, "payments primary")
    put_on_call(api, world, 1, world.ben, "payments backend")
    ids = [seed(api, world) for _ in range(4)]

    body = responder.post("/errors/bulk/", json={"ids": ids, "action": "assign", "auto": True}).json()

    assert body["succeeded"] == 4
    assignees = [stored(api, i).assignee_id for i in ids]
    assert sorted(assignees) == sorted([world.ana, world.ana, world.ben, world.ben])


def test_bulk_passes_the_action_parameters(api, world, responder):
    ids = [seed(api, world), seed(api, world)]
    response = responder.post(
        "/errors/bulk/", json={"ids": ids, "action": "escalate", "reason": "outage", "developer_id": world.cat}
    )
    assert response.json()["succeeded"] == 2
    assert {stored(api, i).assignee_id for i in ids} == {world.cat}
    response = responder.post("/errors/bulk/", json={"ids": ids, "action": "comment", "body": "tracked in INC-12"})
    assert response.json()["succeeded"] == 2
    with api.collector.session() as session:
        assert session.scalars(select(Comment.body).where(Comment.issue_id.in_(ids))).all() == ["tracked in INC-12"] * 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [1], "action": "explode"}, "body.action"),
        ({"action": "resolve"}, "body"),
        ({"ids": [1], "q": "is:unresolved", "action": "resolve"}, "body"),
        ({"ids": [], "action": "resolve"}, "body.ids"),
        ({"ids": list(range(1, 1002)), "action": "resolve"}, "body.ids"),
        ({"ids": [1], "action": "resolve", "developer_id": 3}, "body.developer_id"),
        ({"ids": [1], "action": "assign"}, "body"),
        ({"ids": [1], "action": "assign", "developer_id": 999_999}, "body.developer_id"),
        ({"ids": [1], "action": "escalate"}, "body.reason"),
        ({"ids": [1], "action": "ignore", "events": 0}, "body.events"),
        ({"ids": [1], "action": "comment", "body": ""}, "body.body"),
        ({"q": "is:unresolved\x00", "action": "resolve"}, "body.q"),
        ({"ids": [1], "action": "resolve", "in_release": "1.0\x00"}, "body.in_release"),
    ],
)
def test_bulk_bad_bodies(api, world, responder, body, field):
    error_id = seed(api, world)
    body = {**body, "ids": [error_id] if body.get("ids") == [1] else body.get("ids")}
    if body["ids"] is None:
        del body["ids"]
    refused(responder.post("/errors/bulk/", json=body), 422, field)
    assert audits(api, error_id) == []


def test_every_action_has_a_bulk_name():
    assert set(ACTIONS) == set(get_args(ActionName))


# Roles


ENDPOINTS = [
    ("patch", "/errors/{id}/", {"severity": "low"}),
    ("post", "/errors/{id}/resolve/", {}),
    ("post", "/errors/{id}/assign/", {"developer_id": "ana"}),
    ("post", "/errors/{id}/acknowledge/", None),
    ("post", "/errors/{id}/escalate/", {"reason": "help", "developer_id": "cat"}),
    ("post", "/errors/{id}/ignore/", {"events": 10}),
    ("post", "/errors/{id}/reopen/", None),
    ("post", "/errors/{id}/comment/", {"body": "looking"}),
    ("post", "/errors/bulk/", {"ids": ["id"], "action": "resolve"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_role_matrix(api, world, method, path, body):
    def call(client: httpx.Client, **headers: str) -> httpx.Response:
        error_id = seed(api, world, status=IssueStatus.RESOLVED if "reopen" in path else IssueStatus.UNRESOLVED)
        names = {"id": error_id, "ana": world.ana, "cat": world.cat}
        filled = {
            k: ([names[i] for i in v] if isinstance(v, list) else names.get(v, v)) for k, v in (body or {}).items()
        }
        kwargs = {"json": filled} if body is not None else {}
        return client.request(method, path.format(id=error_id), headers=headers, **kwargs)

    revoked = api.token("gone", Role.RESPONDER)
    with api.collector.session() as session:
        revoke_token(session, "gone")
        session.commit()
    with api.as_role(None) as anonymous:
        assert call(anonymous).status_code == 401
        assert call(anonymous, Authorization="Bearer elg_not_a_token").status_code == 401
        assert call(anonymous, Authorization=f"Bearer {revoked}").status_code == 401
    with api.as_role(Role.VIEWER) as viewer:
        assert "needs the responder role" in refused(call(viewer), 403)
    for role in (Role.RESPONDER, Role.ADMIN):
        with api.as_role(role) as client:
            response = call(client)
            assert response.status_code == 200, (role, response.text)
    with api.collector.session() as session:
        actors = session.scalars(select(AuditEntry.actor).where(AuditEntry.target_type == "error")).all()
    assert sorted(set(actors)) == ["admin-token", "responder-token"]


def test_the_schema_documents_the_actions(viewer):
    paths = viewer.get("/openapi.json").json()["paths"]
    assert paths["/api/error-logging/errors/{error_id}/"]["patch"]["operationId"] == "update_error"
    for action in ACTIONS:
        operation = paths[f"/api/error-logging/errors/{{error_id}}/{action}/"]["post"]
        assert operation["x-errlog-role"] == "responder"
        assert {"401", "403", "404", "409"} <= set(operation["responses"])
    assert paths["/api/error-logging/errors/bulk/"]["post"]["operationId"] == "bulk_update_errors"
