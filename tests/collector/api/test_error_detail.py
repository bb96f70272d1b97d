"""GET errors/{id}/ over HTTP: latest event, tag values, histograms and the merged timeline."""

from __future__ import annotations

import datetime as dt

from db.audit import record
from db.enums import Severity
from db.models import Comment, Escalation, Notification
from db.types import utcnow
from tests.collector.api.error_seed import epoch, parse_time
from tests.db.factories import make_developer, make_event, make_issue, make_project

PAYLOAD = {
    "exception": {
        "values": [
            {
                "type": "ZeroDivisionError",
                "value": "division by zero",
                "stacktrace": {
                    "frames": [
                        {
                            "filename": "app/fees.py",
                            "function": "ratio",
                            "lineno": 48,
                            "in_app": True,
                            "context_line": "    return a / b",
                            "pre_context": ["def ratio(a, b):"],
                            "post_context": [""],
                            "vars": {"a": "10", "b": "0"},
                        }
                    ]
                },
            }
        ]
    },
    "breadcrumbs": {"values": [{"category": "http", "message": "GET /cart"}]},
    "request": {"url": "https://shop.example.com/cart", "method": "GET"},
    "user": {"id": "7"},
    "contexts": {"runtime": {"name": "CPython", "version": "3.11.9"}},
    "tags": {"browser": "Chrome"},
}


def _seed(session, now: dt.datetime):
    project = make_project(session, "payments")
    alice = make_developer(session, "Alice", email="alice@example.com")
    bob = make_developer(session, "Bob", email="bob@example.com")
    issue = make_issue(
        session,
        project,
        severity=Severity.CRITICAL,
        title="ZeroDivisionError: division by zero",
        first_seen=now - dt.timedelta(days=3, minutes=1),
        last_seen=now - dt.timedelta(minutes=10),
        first_release="1.0.0",
        last_release="1.1.0",
        assignee_id=alice.id,
    )
    other = make_issue(session, project)
    events = [
        make_event(
            session,
            issue,
            received_at=now - dt.timedelta(days=3),
            tags={"browser": "Chrome", "os": "Linux"},
            environment="production",
            release="1.0.0",
            level="error",
            payload={"old": True},
        ),
        make_event(
            session,
            issue,
            received_at=now - dt.timedelta(hours=2),
            tags={"browser": "Firefox"},
            environment="staging",
            release="1.1.0",
            level="error",
            payload={"mid": True},
        ),
        make_event(
            session,
            issue,
            received_at=now - dt.timedelta(minutes=10),
            tags={"browser": "Chrome"},
            environment="production",
            release="1.1.0",
            level="fatal",
            message="division by zero",
            user_key="7",
            payload=PAYLOAD,
        ),
    ]
    make_event(session, other, received_at=now)
    at = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731 - shorthand for the timeline below
    record(
        session,
        actor="alice-token",
        action="error.assign",
        target_type="error",
        target_id=issue.id,
        before={"assignee_id": None},
        after={"assignee_id": alice.id},
    ).at = at(days=2)
    record(session, actor="alice-token", action="error.comment", target_type="error", target_id=issue.id).at = at(
        days=1
    )
    record(session, actor="cli", action="error.resolve", target_type="error", target_id=other.id)
    session.add(Comment(issue_id=issue.id, author="alice-token", body="looking at it", created_at=at(days=1)))
    session.add(
        Notification(
            idempotency_key="detail-1",
            issue_id=issue.id,
            developer_id=alice.id,
            channel="email",
            target="alice@example.com",
            trigger="new",
            status="failed",
            attempts=2,
            last_status_code=451,
            last_error="SMTP 451 try later",
            created_at=at(days=3),
        )
    )
    session.add(
        Escalation(
            issue_id=issue.id,
            level=2,
            from_developer_id=alice.id,
            to_developer_id=bob.id,
            reason="unacknowledged for 15 minutes",
            created_at=at(hours=12),
        )
    )
    session.commit()
    return issue, events, alice, bob


def test_detail_holds_everything_the_error_pane_shows(api, viewer):
    now = utcnow()
    with api.collector.session() as session:
        issue, events, alice, _ = _seed(session, now)
    response = viewer.get(f"/errors/{issue.id}/")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == issue.id
    assert body["service"] == "payments"
    assert (body["first_release"], body["last_release"]) == ("1.0.0", "1.1.0")
    assert body["assignee"]["email"] == "alice@example.com"

    latest = body["latest_event"]
    assert latest["event_id"] == events[2].event_id
    assert latest["payload"] == PAYLOAD
    assert latest["payload_archived"] is False
    assert (latest["level"], latest["user_key"], latest["service"]) == ("fatal", "7", "payments")

    tags = {tag["key"]: tag for tag in body["tags"]}
    assert body["tags_sampled_events"] == 3
    assert tags["browser"]["total"] == 3
    assert [(v["value"], v["count"]) for v in tags["browser"]["values"]] == [("Chrome", 2), ("Firefox", 1)]
    assert tags["browser"]["values"][0]["share"] == round(2 / 3, 4)
    assert [(v["value"], v["count"]) for v in tags["environment"]["values"]] == [("production", 2), ("staging", 1)]
    assert [(v["value"], v["count"]) for v in tags["release"]["values"]] == [("1.1.0", 2), ("1.0.0", 1)]
    assert tags["os"]["total"] == 1

    for name, seconds, length, inside in (("histogram_24h", 3600, 24, 2), ("histogram_30d", 86400, 30, 3)):
        histogram = body[name]
        assert histogram["interval_seconds"] == seconds
        assert len(histogram["counts"]) == length
        start = epoch(parse_time(histogram["start"]))
        expected = [0] * length
        for e in events:
            index = (epoch(e.received_at) - start) // seconds
            if 0 <= index < length:
                expected[index] += 1
        assert histogram["counts"] == expected
        assert sum(expected) == inside

    timeline = body["timeline"]
    assert [entry["kind"] for entry in timeline] == [
        "first_seen",
        "notification",
        "change",
        "comment",
        "escalation",
    ]
    assert body["timeline_truncated"] is False
    first, notification, change, comment, escalation = timeline
    assert "payments" in first["summary"] and "1.0.0" in first["summary"]
    assert notification["notification"]["status"] == "failed"
    assert notification["notification"]["attempts"] == 2
    assert notification["notification"]["last_error"] == "SMTP 451 try later"
    assert notification["notification"]["developer"]["id"] == alice.id
    assert "SMTP 451" in notification["summary"]
    assert change["change"]["action"] == "error.assign"
    assert change["change"]["after"] == {"assignee_id": alice.id}
    assert change["actor"] == "alice-token"
    assert comment["comment"]["body"] == "looking at it"
    assert escalation["escalation"]["to_developer"]["name"] == "Bob"
    assert escalation["escalation"]["from_developer"]["id"] == alice.id
    assert escalation["escalation"]["level"] == 2
    times = [parse_time(entry["at"]) for entry in timeline]
    assert times == sorted(times)


def test_an_error_without_events_has_empty_parts(api, viewer):
    with api.collector.session() as session:
        issue = make_issue(session, make_project(session))
        session.commit()
    body = viewer.get(f"/errors/{issue.id}/").json()
    assert body["latest_event"] is None
    assert body["tags"] == []
    assert sum(body["histogram_24h"]["counts"]) == 0
    assert [entry["kind"] for entry in body["timeline"]] == ["first_seen"]


def test_an_archived_payload_is_flagged(api, viewer):
    with api.collector.session() as session:
        issue = make_issue(session, make_project(session))
        make_event(session, issue, payload=None)
        session.commit()
    latest = viewer.get(f"/errors/{issue.id}/").json()["latest_event"]
    assert latest["payload"] is None
    assert latest["payload_archived"] is True


def test_unknown_error_is_404(viewer):
    response = viewer.get("/errors/424242/")
    assert response.status_code == 404
    assert "424242" in response.json()["detail"]
