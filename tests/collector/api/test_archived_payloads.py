"""With the MongoDB archive on, events keep no payload in SQL and the API reads it from the archive."""

from __future__ import annotations

import mongomock
import pytest
from sqlalchemy import select

from collector.archive import EventArchive
from db.models import Event
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event


@pytest.fixture
def archive(collector):
    """A mongomock archive swapped into the running collector (writer and API), as ERRLOG_MONGO_URL would set up."""
    made = EventArchive(mongomock.MongoClient(), database="errlog_test", retention_days=90)
    app = collector.server.config.app
    app.state.archive = made
    app.state.ingest.writer._archive = made
    return made


def test_event_payloads_come_from_the_archive(collector, api, viewer, archive):
    project_id, dsn, _ = collector.create_project()
    event = make_event("archived boom")
    with collector.client() as client:
        response = client.post(
            f"/api/{project_id}/envelope/", content=make_envelope(event), headers=auth_header(key_of(dsn))
        )
    assert response.status_code == 200, response.text
    with collector.session() as session:
        row = session.scalars(select(Event)).one()
    assert row.payload is None
    assert archive.fetch(project_id, event["event_id"]) is not None

    body = viewer.get(f"/events/{event['event_id']}/").json()
    assert body["payload_archived"] is True
    assert body["payload"]["exception"]["values"][-1]["value"] == "archived boom"
    detail = viewer.get(f"/errors/{row.issue_id}/").json()
    assert detail["latest_event"]["payload"]["exception"]["values"][-1]["value"] == "archived boom"
