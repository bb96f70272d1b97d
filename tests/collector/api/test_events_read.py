"""GET errors/{id}/events/ and events/{event_id}/ over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid

from db.types import utcnow
from tests.db.factories import make_event, make_issue, make_project


def test_events_of_an_error_page_newest_first(api, viewer):
    now = utcnow()
    with api.collector.session() as session:
        issue = make_issue(session, make_project(session))
        other = make_issue(session, make_project(session))
        events = [
            make_event(
                session,
                issue,
                received_at=now - dt.timedelta(minutes=m),
                tags={"n": str(m)},
                environment="production",
                release="1.0",
                message=f"event {m}",
                user_key=f"user-{m}",
                level="error",
            )
            for m in (5, 4, 3, 2, 1)
        ]
        make_event(session, other, received_at=now)
        session.commit()
    newest_first = [e.event_id for e in reversed(events)]
    first = viewer.get(f"/errors/{issue.id}/events/", params={"limit": 2}).json()
    second = viewer.get(f"/errors/{issue.id}/events/", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    last = viewer.get(f"/errors/{issue.id}/events/", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    pages = [first, second, last]
    assert [e["event_id"] for page in pages for e in page["items"]] == newest_first
    assert last["next_cursor"] is None
    summary = first["items"][0]
    assert summary == {
        "event_id": events[-1].event_id,
        "project_id": issue.project_id,
        "issue_id": issue.id,
        "timestamp": summary["timestamp"],
        "received_at": summary["received_at"],
        "level": "error",
        "severity": "high",
        "environment": "production",
        "release": "1.0",
        "platform": None,
        "message": "event 1",
        "user_key": "user-1",
        "tags": {"n": "1"},
    }
    assert "payload" not in summary


def test_events_of_an_unknown_error_are_404(viewer):
    assert viewer.get("/errors/999999/events/").status_code == 404


def test_one_event_in_full(api, viewer):
    with api.collector.session() as session:
        project = make_project(session, "payments")
        issue = make_issue(session, project)
        stored = make_event(session, issue, payload={"exception": {"values": [{"type": "KeyError"}]}}, source="sentry")
        archived = make_event(session, issue, payload=None)
        session.commit()
    body = viewer.get(f"/events/{stored.event_id}/").json()
    assert body["event_id"] == stored.event_id
    assert body["service"] == "payments"
    assert body["payload"] == {"exception": {"values": [{"type": "KeyError"}]}}
    assert body["payload_archived"] is False
    as_uuid = str(uuid.UUID(stored.event_id)).upper()
    assert viewer.get(f"/events/{as_uuid}/").json()["event_id"] == stored.event_id
    archived_body = viewer.get(f"/events/{archived.event_id}/").json()
    assert (archived_body["payload"], archived_body["payload_archived"]) == (None, True)


def test_an_event_id_is_checked_and_looked_up(viewer):
    response = viewer.get("/events/not-an-id/")
    assert response.status_code == 400
    assert response.json()["field"] == "path.event_id"
    assert viewer.get(f"/events/{uuid.uuid4().hex}/").status_code == 404


def test_an_event_id_two_projects_share_needs_the_project(api, viewer):
    shared = uuid.uuid4().hex
    with api.collector.session() as session:
        first, second = make_project(session, "web"), make_project(session, "mobile")
        in_first = make_event(session, make_issue(session, first), event_id=shared, message="web")
        make_event(session, make_issue(session, second), event_id=shared, message="mobile")
        session.commit()
    ambiguous = viewer.get(f"/events/{shared}/")
    assert ambiguous.status_code == 409
    assert ambiguous.json()["field"] == "query.project"
    assert f"{first.id} (web)" in ambiguous.json()["detail"]
    assert f"{second.id} (mobile)" in ambiguous.json()["detail"]
    assert viewer.get(f"/events/{shared}/", params={"project": "mobile"}).json()["message"] == "mobile"
    by_id = viewer.get(f"/events/{shared}/", params={"project": str(first.id)}).json()
    assert by_id["message"] == "web"
    assert by_id["issue_id"] == in_first.issue_id
    assert viewer.get(f"/events/{shared}/", params={"project": "nope"}).status_code == 404
    assert viewer.get(f"/events/{shared}/", params={"project": str(2**40)}).status_code == 404
