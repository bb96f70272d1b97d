"""notifications/ through HTTP: deliveries with their attempts, filters, and retrying by hand (audited)."""

from __future__ import annotations

import datetime as dt
import sys
import types

import pytest
from sqlalchemy import select

from db.enums import Channel, NotificationStatus
from db.models import AuditEntry, Notification, NotificationAttempt
from tests.collector.api.querycount import count_queries
from tests.db.factories import make_developer, make_issue, make_project

T0 = dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC)


def audit_rows(api, action: str) -> list[AuditEntry]:
    with api.collector.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def notification(issue, developer, n: int, **fields) -> Notification:
    fields.setdefault("channel", Channel.SMS)
    fields.setdefault("target", "+4915100000001")
    fields.setdefault("trigger", "new")
    return Notification(
        idempotency_key=f"key-{n}",
        issue_id=issue.id if issue else None,
        project_id=issue.project_id if issue else None,
        developer_id=developer.id if developer else None,
        created_at=T0 + dt.timedelta(minutes=n),
        **fields,
    )


def seed(api) -> dict[str, int]:
    with api.collector.session() as session:
        project = make_project(session)
        ana = make_developer(session, name="Ana")
        issue = make_issue(session, project, title="TimeoutError")
        other = make_issue(session, project, title="KeyError")
        sent = notification(issue, ana, 1, status=NotificationStatus.SENT, attempts=1, last_status_code=200)
        failed = notification(
            issue,
            ana,
            2,
            channel=Channel.NTFY,
            target="ana-pager",
            status=NotificationStatus.FAILED,
            attempts=2,
            last_status_code=503,
            last_error="503 Service Unavailable",
            next_attempt_at=T0 + dt.timedelta(hours=1),
            attempt_log=[
                NotificationAttempt(attempt=1, at=T0, status_code=503, error="503 Service Unavailable", duration_ms=40),
                NotificationAttempt(attempt=2, at=T0, status_code=503, error="503 Service Unavailable", duration_ms=35),
            ],
        )
        dead = notification(
            other,
            None,
            3,
            channel=Channel.WEBHOOK,
            target="https://hooks.example.com/x",
            status=NotificationStatus.DEAD,
            attempts=5,
            max_attempts=5,
            last_status_code=404,
            last_error="404",
        )
        suppressed = notification(other, ana, 4, status=NotificationStatus.SUPPRESSED, last_error="quiet hours")
        session.add_all([sent, failed, dead, suppressed])
        session.commit()
        return {
            "ana": ana.id,
            "issue": issue.id,
            "other": other.id,
            "sent": sent.id,
            "failed": failed.id,
            "dead": dead.id,
            "suppressed": suppressed.id,
        }


def listed(viewer, **params) -> list[int]:
    response = viewer.get("/notifications/", params=params)
    assert response.status_code == 200, response.text
    return [n["id"] for n in response.json()["items"]]


def test_notifications_newest_first_with_delivery_state(api, viewer):
    ids = seed(api)
    body = viewer.get("/notifications/").json()
    assert [n["id"] for n in body["items"]] == [ids["suppressed"], ids["dead"], ids["failed"], ids["sent"]]
    failed = body["items"][2]
    assert failed["error_title"] == "TimeoutError"
    assert failed["developer"]["name"] == "Ana"
    assert (failed["attempts"], failed["last_status_code"], failed["last_error"]) == (2, 503, "503 Service Unavailable")
    assert failed["next_attempt_at"] == "2026-03-01T04:00:00Z"
    assert failed["attempt_log"] is None
    assert body["items"][1]["developer"] is None

    with_attempts = viewer.get("/notifications/", params={"include": "attempts", "status": "failed"}).json()["items"]
    assert [(a["attempt"], a["status_code"], a["duration_ms"]) for a in with_attempts[0]["attempt_log"]] == [
        (1, 503, 40),
        (2, 503, 35),
    ]


def test_notification_filters_and_pages(api, viewer):
    ids = seed(api)
    assert listed(viewer, status="failed,dead") == [ids["dead"], ids["failed"]]
    assert listed(viewer, channel=["ntfy", "webhook"]) == [ids["dead"], ids["failed"]]
    assert listed(viewer, error_id=ids["other"]) == [ids["suppressed"], ids["dead"]]
    assert listed(viewer, developer_id=ids["ana"], channel="sms") == [ids["suppressed"], ids["sent"]]
    first = viewer.get("/notifications/", params={"limit": 3}).json()
    assert len(first["items"]) == 3
    rest = viewer.get("/notifications/", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [n["id"] for n in rest["items"]] == [ids["sent"]]
    assert rest["next_cursor"] is None
    bad = viewer.get("/notifications/", params={"status": "lost"})
    assert (bad.status_code, bad.json()["field"]) == (422, "query.status.0")
    assert viewer.get("/notifications/", params={"include": "everything"}).status_code == 422
    assert viewer.get("/notifications/", params={"error_id": 2**70}).json()["field"] == "query.error_id"


@pytest.fixture
def no_delivery_task(monkeypatch):
    """As if tasks/deliver.py did not exist: importing it fails."""
    monkeypatch.setitem(sys.modules, "tasks.deliver", None)


def test_retry_makes_a_failed_notification_due_now_and_audits_it(api, responder, no_delivery_task):
    ids = seed(api)
    before = dt.datetime.now(dt.UTC)
    response = responder.post(f"/notifications/{ids['failed']}/retry/")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["queued"] is False  # the sweep will send it
    assert body["notification"]["status"] == "pending"
    assert body["notification"]["attempts"] == 2
    assert len(body["notification"]["attempt_log"]) == 2
    with api.collector.session() as session:
        row = session.get_one(Notification, ids["failed"])
        assert row.status == NotificationStatus.PENDING
        assert row.attempts == 2
        assert before - dt.timedelta(seconds=1) <= row.next_attempt_at <= dt.datetime.now(dt.UTC)
    [entry] = audit_rows(api, "notification.retry")
    assert entry.actor == "responder-token"
    assert entry.before["status"] == "failed"
    assert entry.after["status"] == "pending"


def test_retrying_a_dead_notification_allows_one_more_attempt(api, responder, no_delivery_task):
    ids = seed(api)
    assert responder.post(f"/notifications/{ids['dead']}/retry/").status_code == 200
    assert responder.post(f"/notifications/{ids['suppressed']}/retry/").status_code == 200
    with api.collector.session() as session:
        dead = session.get_one(Notification, ids["dead"])
        assert (dead.status, dead.attempts, dead.max_attempts) == (NotificationStatus.PENDING, 5, 6)
        assert session.get_one(Notification, ids["suppressed"]).status == NotificationStatus.PENDING


def test_only_failed_dead_or_suppressed_notifications_can_be_retried(api, responder, viewer):
    ids = seed(api)
    sent = responder.post(f"/notifications/{ids['sent']}/retry/")
    assert sent.status_code == 409
    assert "sent" in sent.json()["detail"]
    assert responder.post("/notifications/999999/retry/").status_code == 404
    assert responder.post(f"/notifications/{2**70}/retry/").status_code == 404
    assert viewer.post(f"/notifications/{ids['failed']}/retry/").status_code == 403
    with api.collector.session() as session:
        assert session.get_one(Notification, ids["failed"]).status == NotificationStatus.FAILED
    assert audit_rows(api, "notification.retry") == []


def test_retry_queues_the_delivery_after_the_commit(api, responder, monkeypatch):
    ids = seed(api)
    seen: list[tuple[int, NotificationStatus]] = []

    def deliver_notification(notification_id: int) -> None:
        with api.collector.session() as session:
            seen.append((notification_id, session.get_one(Notification, notification_id).status))

    monkeypatch.setitem(sys.modules, "tasks.deliver", types.SimpleNamespace(deliver_notification=deliver_notification))
    response = responder.post(f"/notifications/{ids['failed']}/retry/")
    assert response.json()["queued"] is True
    # The task, running in another connection, already finds the row pending.
    assert seen == [(ids["failed"], NotificationStatus.PENDING)]


def test_a_queue_that_is_down_does_not_undo_the_retry(api, responder, monkeypatch):
    ids = seed(api)

    def deliver_notification(notification_id: int) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setitem(sys.modules, "tasks.deliver", types.SimpleNamespace(deliver_notification=deliver_notification))
    response = responder.post(f"/notifications/{ids['failed']}/retry/")
    assert response.status_code == 200
    assert response.json()["queued"] is False
    with api.collector.session() as session:
        assert session.get_one(Notification, ids["failed"]).status == NotificationStatus.PENDING
    assert len(audit_rows(api, "notification.retry")) == 1


def test_notifications_run_the_same_queries_however_many(api, viewer):
    seed(api)
    with count_queries(api) as few:
        assert viewer.get("/notifications/", params={"include": "attempts"}).status_code == 200
    with api.collector.session() as session:
        project = make_project(session)
        for i in range(10):
            developer = make_developer(session)
            issue = make_issue(session, project)
            session.add(
                notification(
                    issue,
                    developer,
                    100 + i,
                    status=NotificationStatus.FAILED,
                    attempt_log=[NotificationAttempt(attempt=1, at=T0, status_code=500)],
                )
            )
        session.commit()
    with count_queries(api) as many:
        assert len(viewer.get("/notifications/", params={"include": "attempts"}).json()["items"]) == 14
    assert len(many) == len(few)
