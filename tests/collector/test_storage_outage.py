"""PostgreSQL going away under load: no 2xx for an event that is not stored, and ingestion resumes by itself."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from db.models import Event
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event


def set_connections_allowed(admin_url: str, database: str, allowed: bool) -> None:
    """Refuse (or allow) new connections to `database` and drop the existing ones: the database is unreachable
    for the collector exactly as if its server had stopped, while other test runs keep theirs."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_outage_mid_load(collector, postgres_admin_url, database_url):
    project_id, dsn, _ = collector.create_project()
    key = key_of(dsn)
    database = make_url(database_url).database
    acked: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()

    def sender() -> None:
        with collector.client() as client:
            while not stop.is_set():
                event = make_event()
                response = client.post(
                    f"/api/{project_id}/envelope/", content=make_envelope(event), headers=auth_header(key)
                )
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acked.append(event["event_id"])
                elif response.status_code == 503:
                    assert response.headers["retry-after"]
                    time.sleep(0.05)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        set_connections_allowed(postgres_admin_url, database, False)
        outage_started = len(statuses)
        time.sleep(2.0)
        during = statuses[outage_started:]
        set_connections_allowed(postgres_admin_url, database, True)
        recovered_from = len(statuses)
        time.sleep(2.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        set_connections_allowed(postgres_admin_url, database, True)

    assert 503 in during, "the outage was never reported"
    assert set(statuses) <= {200, 503}, f"unexpected answers: {set(statuses)}"
    assert 200 in statuses[recovered_from:], "ingestion did not resume after the database came back"
    with collector.session() as session:
        stored = set(session.scalars(select(Event.event_id)))
    assert set(acked) <= stored, f"{len(set(acked) - stored)} events were acknowledged but not stored"
