"""What an admin changes on a project reaches a collector that is already running, without a restart: it reads
every project's keys and settings again every few seconds (collector/directory.py)."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from collector.directory import RELOAD_SECONDS
from db.models import AuditEntry, Event, Project
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event
from tests.collector.test_grouping_versions import issues_of, send_from_both_browsers


def test_scrubbing_and_grouping_changes_apply_to_a_running_collector(api, admin, viewer):
    collector = api.collector
    project_id, dsn, _ = collector.create_project("legacy-web")
    with collector.session() as session:
        session.get_one(Project, project_id).grouping_version = 1  # as migration 0008 leaves an older project
        session.commit()

    def send_with_email() -> str:
        event = make_event("refund failed", user={"id": "u-1", "email": "ada@example.com"})
        with collector.client() as client:
            answer = client.post(
                f"/api/{project_id}/envelope/", content=make_envelope(event), headers=auth_header(key_of(dsn))
            )
        assert answer.status_code == 200, answer.text
        with collector.session() as session:
            stored = session.scalars(select(Event).where(Event.event_id == event["event_id"])).one()
            return str(stored.payload["user"].get("email"))

    assert send_with_email() == "ada@example.com"  # the collector now holds the project's settings in memory
    send_from_both_browsers(collector, project_id, dsn)  # under v1: one error per browser family
    send_from_both_browsers(collector, project_id, dsn, bug="SyntaxError", renders=("CartView.render",))  # Chrome's
    before = [row for row in issues_of(collector, project_id) if row[0] != "shop.cart in checkout"]
    assert [(times, version) for _, times, version in before] == [(1, 1), (1, 1), (1, 1)]
    assert viewer.get(f"/projects/{project_id}/").json()["grouping_version"] == 1
    refused = admin.patch(f"/projects/{project_id}/", json={"grouping_version": 3})
    assert refused.status_code == 422 and refused.json()["field"] == "body.grouping_version", refused.text
    assert "known versions: 1, 2" in refused.json()["detail"]
    changed = admin.patch(f"/projects/{project_id}/", json={"grouping_version": 2, "scrub_emails": True})
    assert changed.status_code == 200 and changed.json()["grouping_version"] == 2, changed.text
    until = dt.datetime.fromisoformat(changed.json()["grouping_transition_until"])
    assert dt.timedelta(days=29) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)
    with collector.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "project.update"))
        assert entry.after == {"grouping_version": 2, "scrub_emails": True}

    deadline = time.monotonic() + RELOAD_SECONDS * 3
    while (email := send_with_email()) != "[Filtered]" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert email == "[Filtered]", "the running collector never saw scrub_emails turned on"
    # Read in the same reload: the project now groups by v2, and no report makes a new error (nothing pages again).
    # Firefox's v1 fingerprint is already v2's, so both browsers' reports join the error v1 made of Firefox's, and
    # Chrome's old error, the duplicate, stops growing; the bug only Chrome reported has no v2 error yet, so it joins
    # the one its v1 fingerprint names.
    send_from_both_browsers(collector, project_id, dsn)
    send_from_both_browsers(collector, project_id, dsn, bug="SyntaxError", renders=("CartView.render",))
    after = [row for row in issues_of(collector, project_id) if row[0] != "shop.cart in checkout"]
    assert [(times, version) for _, times, version in after] == [(1, 1), (3, 1), (2, 1)]
    # A bug first seen after the move is grouped by v2 alone: one error from both browsers.
    send_from_both_browsers(collector, project_id, dsn, bug="RangeError")
    assert [(times, version) for _, times, version in issues_of(collector, project_id)][-1] == (2, 2)
