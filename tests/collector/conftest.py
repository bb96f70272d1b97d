"""A real collector on 127.0.0.1 for the tests, backed by the clean database of `database_url`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session

from collector.alerts import AlertDue
from collector.app import create_app
from db.projects import create_project
from db.session import create_db_engine, make_session_factory
from errlog.settings import Settings, load_settings


@dataclass
class LiveCollector:
    url: str
    settings: Settings
    server: uvicorn.Server
    sessions: Any
    alerts: list[AlertDue]

    def session(self) -> Session:
        session: Session = self.sessions()
        return session

    def create_project(self, name: str = "shop") -> tuple[int, str, str]:
        """(project id, DSN, webhook token) of a new project."""
        with self.sessions() as session:
            new = create_project(session, name)
            session.commit()
            return new.project.id, self.settings.dsn_for(new.public_key, new.project.id), new.webhook_token

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


def start_collector(settings: Settings, alerts: list[AlertDue]) -> tuple[uvicorn.Server, threading.Thread, str]:
    app = create_app(settings, enqueue_alert=alerts.append)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the collector did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def collector_settings(database_url: str) -> dict[str, Any]:
    """Overrides for the collector's settings; tests may add to it before asking for `collector`."""
    return {"database_url": database_url}


@pytest.fixture
def collector(collector_settings: dict[str, Any]) -> Iterator[LiveCollector]:
    settings = load_settings(**collector_settings)
    alerts: list[AlertDue] = []
    server, thread, url = start_collector(settings, alerts)
    # Public URL = the live address, so DSNs point at this server.
    settings = load_settings(**collector_settings, public_url=url)
    engine = create_db_engine(settings.effective_database_url)
    try:
        yield LiveCollector(
            url=url, settings=settings, server=server, sessions=make_session_factory(engine), alerts=alerts
        )
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()
