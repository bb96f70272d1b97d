"""What error actions page about after their commit: a manual escalation pages the new owner; acknowledging and
resolving (single, PATCH, bulk) acknowledge and resolve the error's PagerDuty incident, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from collector.alerts import AlertDue, enqueue_with_huey
from db.enums import Channel, NotificationStatus, Severity
from db.models import Escalation, Notification, Project
from errlog.settings import Settings, load_settings
from tasks.deliver import deliver_notification
from tasks.queue import huey, runtime
from tests.db.factories import make_developer, make_issue, make_project
from tests.tasks.receivers import Receiver, Reply


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def tasks(api: Any, receiver: Receiver) -> Iterator[Settings]:
    """The tasks, run where enqueued, on the collector's database: push and PagerDuty go to `receiver`."""
    settings = load_settings(
        database_url=api.collector.settings.database_url,
        ntfy_url=receiver.url + "/ntfy",
        pagerduty_url=receiver.url + "/pd",
        pagerduty_routing_key="R0UT1NG",
    )
    runtime.configure(settings)
    huey.immediate = True
    try:
        yield settings
    finally:
        huey.immediate = False
        runtime.configure(None)


def run_enqueued(api: Any) -> list[AlertDue]:
    """Hand what the API enqueued after its commits to the real tasks, as the Huey queue would."""
    due = list(api.collector.alerts)
    api.collector.alerts.clear()
    for alert in due:
        enqueue_with_huey(alert)
    return due


def seed(api: Any, **fields: Any) -> int:
    with api.collector.session() as session:
        project = session.scalars(select(Project)).first()
        fields.setdefault("severity", Severity.CRITICAL)
        issue = make_issue(session, project, **fields)
        session.commit()
        return issue.id


@pytest.fixture(autouse=True)
def cat(api: Any) -> int:
    """The payments project, and Cat, a developer with a push topic."""
    with api.collector.session() as session:
        make_project(session, "payments")
        developer = make_developer(session, "Cat", ntfy_topic="cat-pager")
        session.commit()
        return developer.id


def pagerduty(receiver: Receiver) -> list[dict[str, Any]]:
    return [request.json() for request in receiver.requests if request.path == "/pd/v2/enqueue"]


def rows(api: Any, **where: Any) -> list[Notification]:
    with api.collector.session() as session:
        return list(session.scalars(select(Notification).filter_by(**where).order_by(Notification.id)))


def test_a_manual_escalation_pages_the_new_owner_after_its_commit(api, responder, tasks, receiver, cat) -> None:
    error_id = seed(api)
    response = responder.post(
        f"/errors/{error_id}/escalate/", json={"reason": "needs the payments lead", "developer_id": cat}
    )
    assert response.status_code == 200, response.text

    with api.collector.session() as session:
        escalation = session.scalars(select(Escalation).where(Escalation.issue_id == error_id)).one()
    assert api.collector.alerts == [AlertDue(error_id, "escalation", f"esc-{escalation.id}")]
    run_enqueued(api)
    [push] = [request.json() for request in receiver.requests if request.path == "/ntfy/"]
    assert push["topic"] == "cat-pager"
    assert "Level 1, from unassigned to Cat: needs the payments lead" in push["message"]
    # The critical error's PagerDuty incident hears of it too (same dedup key, so the same incident).
    assert [event["dedup_key"] for event in pagerduty(receiver)] == [str(error_id)]


def test_a_refused_escalation_pages_nobody(api, responder, tasks, cat) -> None:
    error_id = seed(api, status="resolved")
    response = responder.post(f"/errors/{error_id}/escalate/", json={"reason": "x", "developer_id": cat})
    assert response.status_code == 409
    assert api.collector.alerts == []


def test_acknowledge_then_resolve_follow_the_pagerduty_incident_once(api, responder, tasks, receiver, cat) -> None:
    error_id = seed(api)
    enqueue_with_huey(AlertDue(error_id, "new", "first-event"))  # the trigger: PagerDuty has an incident
    assert [event["event_action"] for event in pagerduty(receiver)] == ["trigger"]

    assert responder.post(f"/errors/{error_id}/acknowledge/").status_code == 200
    [ack] = run_enqueued(api)
    assert ack.trigger == "acknowledged"
    enqueue_with_huey(ack)  # enqueued again (a retried task): sent once
    # Bulk, as the TUI resolves.
    bulk = responder.post("/errors/bulk/", json={"ids": [error_id], "action": "resolve"})
    assert bulk.status_code == 200 and bulk.json()["succeeded"] == 1
    [res] = run_enqueued(api)
    assert res.trigger == "resolved"

    events = pagerduty(receiver)
    assert [event["event_action"] for event in events] == ["trigger", "acknowledge", "resolve"]
    assert events[1] == {"routing_key": "R0UT1NG", "event_action": "acknowledge", "dedup_key": str(error_id)}
    assert events[2]["dedup_key"] == str(error_id)
    updates = rows(api, issue_id=error_id, channel=Channel.PAGERDUTY)
    assert [(row.trigger, row.status) for row in updates[1:]] == [
        ("acknowledged", NotificationStatus.SENT),
        ("resolved", NotificationStatus.SENT),
    ]


def test_patch_status_resolved_resolves_the_incident(api, responder, tasks, receiver) -> None:
    error_id = seed(api)
    enqueue_with_huey(AlertDue(error_id, "new", "first-event"))
    assert responder.patch(f"/errors/{error_id}/", json={"status": "resolved"}).status_code == 200
    run_enqueued(api)
    assert [event["event_action"] for event in pagerduty(receiver)] == ["trigger", "resolve"]


def test_no_incident_no_update(api, responder, tasks, receiver) -> None:
    error_id = seed(api, severity=Severity.HIGH)  # high errors do not page PagerDuty by default
    enqueue_with_huey(AlertDue(error_id, "new", "first-event"))
    assert responder.post(f"/errors/{error_id}/acknowledge/").status_code == 200
    assert [alert.trigger for alert in run_enqueued(api)] == ["acknowledged"]
    assert pagerduty(receiver) == []
    assert rows(api, trigger="acknowledged") == []


def test_a_failed_update_is_retried_like_any_notification(api, responder, tasks, receiver) -> None:
    error_id = seed(api)
    enqueue_with_huey(AlertDue(error_id, "new", "first-event"))
    receiver.reply(Reply(status=503))
    assert responder.post(f"/errors/{error_id}/resolve/").status_code == 200
    run_enqueued(api)

    [update] = rows(api, trigger="resolved")
    assert update.status == NotificationStatus.FAILED and update.last_status_code == 503
    assert update.next_attempt_at is not None


def test_the_detail_shows_when_the_chain_escalates_next(api, viewer, admin, cat) -> None:
    with api.collector.session() as session:
        project_id = session.scalars(select(Project.id)).first()
    chain = {"steps": [{"severity": "critical", "after_minutes": 15, "target_developer_id": cat}]}
    assert admin.put(f"/projects/{project_id}/escalation-chain/", json=chain).status_code == 200
    first_seen = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    critical_id = seed(api, first_seen=first_seen)
    high_id = seed(api, severity=Severity.HIGH)

    detail = viewer.get(f"/errors/{critical_id}/").json()
    assert detail["next_escalation"] == {
        "chain": "default",
        "step": 1,
        "level": 2,
        "condition": "unacknowledged",
        "after_minutes": 15,
        "due_at": "2026-03-10T12:15:00Z",
        "reason": "unacknowledged for 15 min (step 1 of chain 'default')",
    }
    assert viewer.get(f"/errors/{high_id}/").json()["next_escalation"] is None  # no step for high errors


def test_an_incident_opened_after_the_error_was_acknowledged_is_acknowledged_too(api, responder, tasks, receiver):
    error_id = seed(api)
    receiver.reply(Reply(status=503))  # PagerDuty is down when the error first pages
    enqueue_with_huey(AlertDue(error_id, "new", "first-event"))
    [trigger] = rows(api, issue_id=error_id, channel=Channel.PAGERDUTY)
    assert trigger.status == NotificationStatus.FAILED

    # Acknowledged while the trigger waits for its retry: PagerDuty has no incident yet, so nothing to update.
    assert responder.post(f"/errors/{error_id}/acknowledge/").status_code == 200
    run_enqueued(api)
    assert rows(api, trigger="acknowledged") == []

    # The retry opens the incident; it is acknowledged right after, as the error is.
    with api.collector.session() as session:
        session.get(Notification, trigger.id).next_attempt_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.commit()
    deliver_notification(trigger.id)
    assert [event["event_action"] for event in pagerduty(receiver)] == ["trigger", "trigger", "acknowledge"]
    [update] = rows(api, trigger="acknowledged")
    assert update.status == NotificationStatus.SENT
    deliver_notification(trigger.id)  # run again: nothing more is sent
    assert len(pagerduty(receiver)) == 3
