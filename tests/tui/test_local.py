"""Local mode and the demo: servers started as subprocesses, a token kept owner-only and reused, servers left
behind by a killed console stopped, and a demo database filled through the collector's own doors."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tui.connection import LocalConnector
from tui.demo_data import SERVICES
from tui.local import PID_FILE, LocalStack, LocalStackError, stop_stale

pytestmark = pytest.mark.anyio


def test_stale_servers_of_a_killed_console_are_stopped(tmp_path: Path) -> None:
    # One process looks like a server errlog-tui started; the other does not and must be left alone.
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "errlog.cli", "serve"])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / PID_FILE).write_text(f"{server.pid}\n{bystander.pid}\n")
        stop_stale(tmp_path / PID_FILE)
        assert server.wait(10) != 0
        assert bystander.poll() is None
        assert not (tmp_path / PID_FILE).exists()
    finally:
        for process in (server, bystander):
            process.kill()
            process.wait()


async def test_a_data_dir_in_use_by_a_running_console_is_not_taken_over(tmp_path: Path) -> None:
    # The owner (a console still running) and its server: neither may be stopped by a second start.
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "errlog.cli", "serve"])
    try:
        (tmp_path / PID_FILE).write_text(f"owner {owner.pid}\n{server.pid}\n")
        stack = LocalStack(tmp_path, public_url="http://127.0.0.1")
        with pytest.raises(LocalStackError, match=rf"in use by another errlog-tui or errlog demo \(pid {owner.pid}\)"):
            await stack.start()
        assert server.poll() is None and (tmp_path / PID_FILE).exists()
        owner.kill()
        owner.wait()
        stop_stale(tmp_path / PID_FILE)  # the owner is gone: its servers are strays now
        assert server.wait(10) != 0
    finally:
        for process in (owner, server):
            process.kill()
            process.wait()


async def api_get(link_server: str, token: str, path: str, **params: object) -> Any:
    async with httpx.AsyncClient(base_url=f"{link_server}/api/error-logging", timeout=20) as http:
        response = await http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json()


async def test_demo_fills_a_separate_database(tmp_path: Path, isolated_environment: Path) -> None:
    demo_dir = isolated_environment / "demo"
    connector = LocalConnector(LocalStack(demo_dir, public_url="http://127.0.0.1:8000", demo=True), demo=True)
    steps: list[str] = []
    try:
        link = await connector.connect(steps.append)
        assert link.label == "demo" and link.local is not None
        assert {p.name for p in link.local.projects} == {s.name for s in SERVICES}
        errors = await api_get(link.server, link.token, "/errors/", limit=100)
        rows = errors["items"]
        assert len(rows) == sum(len(s.errors) for s in SERVICES)
        assert {r["platform"] for r in rows} >= {"php", "java", "javascript", "dart", "python"}
        assert {r["severity"] for r in rows} == {"critical", "high", "medium", "low"}
        assert any(r["escalation_level"] for r in rows) and any(r["assignee"] for r in rows)
        assert any(r["is_regression"] for r in rows) and any(r["status"] == "ignored" for r in rows)
        assert any(r["status"] == "acknowledged" for r in rows)
        # The analysis ran once after the fill: the regression the triage caused is a pattern.
        patterns = await api_get(link.server, link.token, "/patterns/")
        assert "regression" in {p["kind"] for p in patterns["items"]}
        oncall = await api_get(link.server, link.token, "/oncall/")
        assert len(oncall) == len(SERVICES)
        # The worker delivers the alerts: to the stand-in ntfy server (sent) and a closed Slack port (failing).
        deadline = time.monotonic() + 60
        while True:
            page = await api_get(link.server, link.token, "/notifications/", limit=200)
            states = Counter((n["channel"], n["status"]) for n in page["items"])
            if states[("ntfy", "sent")] and any(s in ("failed", "dead") for c, s in states if c == "slack"):
                break
            assert time.monotonic() < deadline, f"no delivered and failed notifications: {states}"
            await asyncio.sleep(0.5)
        assert not any(name == "errlog.db" for name in os.listdir(isolated_environment))  # not the user's database
        token = (demo_dir / "tui-token").read_text()
        assert stat.S_IMODE((demo_dir / "tui-token").stat().st_mode) == 0o600
        assert stat.S_IMODE((demo_dir / "demo-projects.json").stat().st_mode) == 0o600
    finally:
        connector.close()
    # A second start reuses the token and the projects and only adds fresh events.
    again = LocalConnector(LocalStack(demo_dir, public_url="http://127.0.0.1:8000", demo=True), demo=True)
    try:
        link = await again.connect(steps.append)
        assert (demo_dir / "tui-token").read_text() == token
        assert link.local is not None and len(link.local.projects) == len(SERVICES)
        errors = await api_get(link.server, link.token, "/errors/", limit=100)
        assert len(errors["items"]) == len(rows)
        assert sum(e["times_seen"] for e in errors["items"]) > sum(r["times_seen"] for r in rows)
    finally:
        again.close()
    assert "Demo data ready" in steps


async def test_a_local_collector_that_cannot_start_is_explained(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.tui.conftest import screen_text, wait_until
    from tui.app import ErrlogApp

    # A database nothing listens on: `errlog serve` gives up at once, with its reason in the log.
    monkeypatch.setenv("ERRLOG_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/errlog")
    stack = LocalStack(isolated_environment, public_url="http://127.0.0.1:8000")
    app = ErrlogApp(LocalConnector(stack), refresh_seconds=None)
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_until(pilot, lambda: app.connection.state == "failed", "the start to fail", timeout=60)
        await pilot.pause()
        text = screen_text(app)
        assert "COULD NOT START: the local collector exited with code 1" in text
        assert str(isolated_environment / "tui-local.log") in text.replace("\n", "")
        await pilot.press("q")
    assert app.internal_errors == []
    assert stack.processes == []  # nothing left running


async def test_the_local_worker_starts_once_the_first_screen_is_up(isolated_environment: Path) -> None:
    from tests.tui.conftest import wait_until
    from tui.app import ErrlogApp
    from tui.widgets import QueuePane

    stack = LocalStack(isolated_environment, public_url="http://127.0.0.1")
    app = ErrlogApp(LocalConnector(stack), refresh_seconds=None)
    queue_loaded_at_start: list[bool] = []
    start_worker = stack.start_worker

    def record_and_start() -> None:
        # Its start would compete with the first screen's requests: it must come after the queue's first answer.
        queue_loaded_at_start.append(app.screen.query_one(QueuePane).loaded)
        start_worker()

    stack.start_worker = record_and_start  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(stack.processes) == 2, "the worker", timeout=60)
        assert queue_loaded_at_start == [True]
        assert [process.args[3] for process in stack.processes] == ["serve", "worker"]
        assert app.link is not None and app.link.local is not None and app.link.local.worker
        await pilot.press("q")
    assert app.internal_errors == []
    assert stack.processes == []
