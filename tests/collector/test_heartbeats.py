"""Heartbeat check-ins against a live collector: the real sentry-sdk's check_in items and Sentry's HTTP cron URL."""

from __future__ import annotations

import datetime as dt

import pytest
import sentry_sdk
from sentry_sdk.crons import capture_checkin, monitor
from sqlalchemy import select

from db.heartbeats import create_heartbeat
from db.models import Comment, Event, Heartbeat, Issue
from tests.collector.conftest import LiveCollector
from tests.collector.test_sentry_sdk import sentry


def add_heartbeat(collector: LiveCollector, project_id: int, slug: str = "nightly-invoices") -> int:
    with collector.session() as session:
        heartbeat = create_heartbeat(
            session, project_id, slug, interval_minutes=1440, grace_minutes=30, now=dt.datetime.now(dt.UTC)
        )
        session.commit()
        return heartbeat.id


def heartbeat_row(collector: LiveCollector, heartbeat_id: int) -> Heartbeat:
    with collector.session() as session:
        heartbeat = session.get(Heartbeat, heartbeat_id)
        assert heartbeat is not None
        return heartbeat


def public_key(dsn: str) -> str:
    return dsn.split("//", 1)[1].split("@", 1)[0]


def test_sentry_sdk_capture_checkin_records_an_ok_check_in(collector):
    project_id, dsn, _ = collector.create_project()
    heartbeat_id = add_heartbeat(collector, project_id)
    before = heartbeat_row(collector, heartbeat_id).next_due_at
    with sentry(dsn):
        capture_checkin(monitor_slug="nightly-invoices", status="ok", duration=12.5)
    heartbeat = heartbeat_row(collector, heartbeat_id)
    assert (heartbeat.state, heartbeat.last_status) == ("ok", "ok")
    assert heartbeat.last_check_in_at is not None and heartbeat.next_due_at > before
    assert collector.alerts == []


def test_a_failing_monitor_decorated_job_raises_one_critical_error_and_its_alert(collector):
    project_id, dsn, _ = collector.create_project()
    heartbeat_id = add_heartbeat(collector, project_id)

    @monitor(monitor_slug="nightly-invoices")
    def nightly_invoices() -> None:
        raise RuntimeError("the invoice run crashed")

    with sentry(dsn), pytest.raises(RuntimeError):
        nightly_invoices()
    heartbeat = heartbeat_row(collector, heartbeat_id)
    assert (heartbeat.state, heartbeat.last_status) == ("failing", "error")
    with collector.session() as session:
        [issue] = session.scalars(select(Issue)).all()
        [event] = session.scalars(select(Event)).all()
    assert heartbeat.issue_id == issue.id
    assert (issue.fingerprint, issue.severity, issue.status) == ("heartbeat:nightly-invoices", "critical", "unresolved")
    assert event.source == "heartbeat" and "failed run" in (event.message or "")
    [alert] = collector.alerts
    assert (alert.issue_id, alert.trigger, alert.event_id) == (issue.id, "new", event.event_id)


def test_an_ok_check_in_resolves_the_error_with_a_note_and_a_later_failure_is_a_regression(collector):
    project_id, dsn, _ = collector.create_project()
    heartbeat_id = add_heartbeat(collector, project_id)
    url = f"/api/{project_id}/cron/nightly-invoices/{public_key(dsn)}/"
    with collector.client() as client:
        assert client.post(url, params={"status": "error"}).status_code == 202
        assert client.get(url, params={"status": "error"}).status_code == 202  # still open: no second page
        assert client.get(url, params={"status": "ok"}).status_code == 202
        with collector.session() as session:
            [issue] = session.scalars(select(Issue)).all()
            [note] = session.scalars(select(Comment)).all()
        assert issue.status == "resolved" and note.issue_id == issue.id and "checked in ok" in note.body
        assert heartbeat_row(collector, heartbeat_id).issue_id is None
        assert client.get(url, params={"status": "error"}).status_code == 202
    assert [alert.trigger for alert in collector.alerts] == ["new", "regression"]


def test_http_check_in_answers_202_and_defaults_to_ok(collector):
    project_id, dsn, _ = collector.create_project()
    heartbeat_id = add_heartbeat(collector, project_id)
    with collector.client() as client:
        response = client.get(f"/api/{project_id}/cron/nightly-invoices/{public_key(dsn)}/")
    assert response.status_code == 202 and len(response.json()["id"]) == 32
    assert heartbeat_row(collector, heartbeat_id).state == "ok"


def test_http_check_in_in_progress_keeps_the_state(collector):
    project_id, dsn, _ = collector.create_project()
    heartbeat_id = add_heartbeat(collector, project_id)
    with collector.client() as client:
        response = client.post(f"/api/{project_id}/cron/nightly-invoices/{public_key(dsn)}/?status=in_progress")
    heartbeat = heartbeat_row(collector, heartbeat_id)
    assert response.status_code == 202
    assert (heartbeat.state, heartbeat.last_status) == ("waiting", "in_progress")


def test_http_check_in_with_a_bad_key_is_403_and_changes_nothing(collector):
    project_id, _, _ = collector.create_project()
    _, other_dsn, _ = collector.create_project("billing")
    heartbeat_id = add_heartbeat(collector, project_id)
    with collector.client() as client:
        unknown = client.get(f"/api/{project_id}/cron/nightly-invoices/{'0' * 32}/?status=ok")
        foreign = client.get(f"/api/{project_id}/cron/nightly-invoices/{public_key(other_dsn)}/?status=ok")
    assert unknown.status_code == 403 and "DSN key" in unknown.json()["detail"]
    assert foreign.status_code == 403 and "another project" in foreign.json()["detail"]
    assert heartbeat_row(collector, heartbeat_id).last_check_in_at is None


def test_http_check_in_for_an_unknown_slug_is_404(collector):
    project_id, dsn, _ = collector.create_project()
    with collector.client() as client:
        response = client.get(f"/api/{project_id}/cron/never-created/{public_key(dsn)}/?status=ok")
    assert response.status_code == 404 and "never-created" in response.json()["detail"]


def test_http_check_in_with_an_unknown_status_is_400_naming_it(collector):
    project_id, dsn, _ = collector.create_project()
    heartbeat_id = add_heartbeat(collector, project_id)
    with collector.client() as client:
        response = client.get(f"/api/{project_id}/cron/nightly-invoices/{public_key(dsn)}/?status=done")
    assert response.status_code == 400 and response.json()["detail"].startswith("status:")
    assert heartbeat_row(collector, heartbeat_id).last_check_in_at is None


def test_an_envelope_check_in_for_an_unknown_monitor_is_skipped_and_the_event_still_stored(collector):
    _, dsn, _ = collector.create_project()
    with sentry(dsn):
        capture_checkin(monitor_slug="not-set-up", status="ok")
        sentry_sdk.capture_message("still stored", level="error")
    with collector.session() as session:
        assert session.scalars(select(Heartbeat)).all() == []
        [event] = session.scalars(select(Event)).all()
    assert event.message == "still stored"
