"""API test helpers: a live collector plus one token per role, and a client that sends a role's token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from db.enums import Role
from db.tokens import create_token
from tests.collector.conftest import LiveCollector


@dataclass
class ApiClients:
    collector: LiveCollector
    tokens: dict[Role, str]
    developer_id: int | None = None

    def as_role(self, role: Role | None) -> httpx.Client:
        """A client under /api/error-logging sending `role`'s token (None: no token)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=f"{self.collector.url}/api/error-logging", headers=headers, timeout=20)

    def token(self, name: str, role: Role, developer_id: int | None = None) -> str:
        with self.collector.session() as session:
            new = create_token(session, name, role, developer_id)
            session.commit()
            return new.secret


@pytest.fixture
def api(collector: LiveCollector) -> Iterator[ApiClients]:
    clients = ApiClients(collector, {})
    for role in Role:
        clients.tokens[role] = clients.token(f"{role}-token", role)
    yield clients


@pytest.fixture
def viewer(api: ApiClients) -> Iterator[httpx.Client]:
    with api.as_role(Role.VIEWER) as client:
        yield client


@pytest.fixture
def responder(api: ApiClients) -> Iterator[httpx.Client]:
    with api.as_role(Role.RESPONDER) as client:
        yield client


@pytest.fixture
def admin(api: ApiClients) -> Iterator[httpx.Client]:
    with api.as_role(Role.ADMIN) as client:
        yield client
