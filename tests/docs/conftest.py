"""Fixtures for running the docs' examples: a live collector, a project on it, and reading its errors back."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

# The live collector and its API tokens, as the collector and API tests use them.
from tests.collector.api.conftest import ApiClients, api  # noqa: F401
from tests.collector.conftest import LiveCollector, collector, collector_settings  # noqa: F401
from tests.docs.examples import DSN_PLACEHOLDER, URL_PLACEHOLDER


@dataclass
class DocsProject:
    """A project on the live collector, with what an example needs to talk to it."""

    api: ApiClients
    project_id: int
    dsn: str
    webhook_token: str

    @property
    def url(self) -> str:
        return self.api.collector.url

    def environment(self, **extra: str) -> dict[str, str]:
        """The process environment for a snippet: this machine's, plus the tokens the docs read from it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ERRLOG_")}
        env["ERRLOG_WEBHOOK_TOKEN"] = self.webhook_token
        env["ERRLOG_API_TOKEN"] = self.api.tokens[_viewer()]
        env.update(extra)
        return env

    def substitute(self, text: str) -> str:
        return text.replace(DSN_PLACEHOLDER, self.dsn).replace(URL_PLACEHOLDER, self.url)

    def errors(self, query: str = "") -> list[dict[str, Any]]:
        """The project's errors as the REST API lists them to a viewer (GET /api/error-logging/errors/)."""
        with self.api.as_role(_viewer()) as viewer:
            answer = viewer.get("/errors/", params={"q": query, "project_id": self.project_id, "limit": 500})
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def wait_for_errors(self, query: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The errors `query` finds once there are `count` of them; SDKs and relays send in the background."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.errors(query)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def events(self, error_id: int) -> list[dict[str, Any]]:
        with self.api.as_role(_viewer()) as viewer:
            answer = viewer.get(f"/errors/{error_id}/events/")
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def event(self, event_id: str) -> dict[str, Any]:
        with self.api.as_role(_viewer()) as viewer:
            answer = viewer.get(f"/events/{event_id}/")
        assert answer.status_code == 200, answer.text
        event: dict[str, Any] = answer.json()
        return event

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=20)


def _viewer() -> Any:
    from db.enums import Role

    return Role.VIEWER


@pytest.fixture
def docs_project(api: ApiClients) -> Iterator[DocsProject]:  # noqa: F811
    project_id, dsn, token = api.collector.create_project("shop")
    yield DocsProject(api, project_id, dsn, token)


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite_template: Path) -> str:
    """The examples talk HTTP to the collector, so the storage backend is not what they test: SQLite only."""
    path = tmp_path / "errlog.db"
    shutil.copy(migrated_sqlite_template, path)
    return f"sqlite:///{path}"
