"""The server goes away and comes back while the console runs: a banner, the last data kept, actions refused
clearly, and recovery without a restart."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import uvicorn

from collector.app import create_app
from db.enums import Role, Severity
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_issue, make_project
from tests.tui.conftest import console, queue_ids, screen_text, settle, toasts, wait_until

pytestmark = pytest.mark.anyio


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def serve_on(api: ApiClients, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """A second collector on the first one's port and database, as after a restart."""
    app = create_app(api.collector.settings, enqueue_alert=api.collector.alerts.append)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the second collector did not start"
        time.sleep(0.02)
    return server, thread


async def test_server_down_and_back(api: ApiClients) -> None:
    with api.collector.session() as session:
        project = make_project(session, "shop")
        first = make_issue(session, project, severity=Severity.CRITICAL, title="Gateway timeout")
        make_issue(session, project, severity=Severity.LOW, title="Slow page")
        session.commit()
        first_id = first.id
    port = urlsplit(api.collector.url).port
    assert port is not None
    async with console(api, Role.RESPONDER, refresh_seconds=0.2) as pilot:
        shown = queue_ids(pilot.app)
        assert len(shown) == 2
        # The collector stops.
        api.collector.server.should_exit = True
        await wait_until(pilot, lambda: not listening(port), "the collector to stop")
        await wait_until(pilot, lambda: pilot.app.connection.state == "down", "the console to notice")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "SERVER UNREACHABLE" in text and f"127.0.0.1:{port}" in text and "Reconnecting automatically" in text
        assert "Gateway timeout" in text and queue_ids(pilot.app) == shown  # the last data stays
        # An action while it is down fails with a reason, and the console goes on.
        await pilot.press("r")
        await settle(pilot)
        assert f"Resolve #{first_id} failed: cannot reach the errlog server" in toasts(pilot.app)
        # The collector comes back on the same address: the console reconnects by itself.
        server, thread = serve_on(api, port)
        try:
            await wait_until(pilot, lambda: pilot.app.connection.state == "connected", "the console to reconnect")
            await settle(pilot)
            assert "SERVER UNREACHABLE" not in screen_text(pilot.app)
            assert "Connection restored" in toasts(pilot.app)
            await pilot.press("r")
            await settle(pilot)
            with api.as_role(Role.VIEWER) as viewer:
                assert viewer.get(f"/errors/{first_id}/").json()["status"] == "resolved"
        finally:
            server.should_exit = True
            thread.join(10)


async def test_a_revoked_token_is_explained(api: ApiClients) -> None:
    token = api.token("short-lived", Role.RESPONDER)
    api.tokens[Role.RESPONDER] = token
    async with console(api, Role.RESPONDER) as pilot:
        from db.tokens import revoke_token

        with api.collector.session() as session:
            revoke_token(session, "short-lived")
            session.commit()
        from tui.widgets import QueuePane

        pilot.app.screen.query_one(QueuePane).reload()
        await settle(pilot)
        assert pilot.app.connection.state == "refused"
        assert "ACCESS REFUSED: the server refused the API token: unknown or revoked API token" in screen_text(
            pilot.app
        )
