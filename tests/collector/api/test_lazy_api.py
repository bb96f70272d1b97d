"""The collector declares the API's routes at start but imports the API on the first request to one of them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from collector.api.route_table import ROUTES, api_routes

ROOT = Path(__file__).resolve().parents[3]


def test_the_route_table_is_the_api_in_its_routing_order() -> None:
    assert list(ROUTES.items()) == list(api_routes().items()), "run: python -m collector.api.route_table"


def run_fresh(database_url: str, script: str) -> None:
    """`script` in a new interpreter (this one imported the API long ago) with `app` built on the database."""
    prologue = f"""
        import gc, sys
        from starlette.testclient import TestClient
        from collector.app import create_app
        from errlog.settings import load_settings
        app = create_app(load_settings(database_url={database_url!r}), enqueue_alert=lambda alert: None)
        def api_loaded():
            return "collector.api.framework" in sys.modules
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(prologue) + textwrap.dedent(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_ingest_and_health_leave_the_api_and_pymongo_unloaded(isolated_environment, database_url) -> None:
    run_fresh(
        database_url,
        """
        with TestClient(app) as client:
            assert client.get("/api/error-logging/ready/").status_code == 200
            assert client.post("/api/1/envelope/", content=b"{}").status_code in (400, 401, 403)
            assert client.post("/api/error-logging/audit/").status_code == 405  # the router answers, from the table
            assert client.get("/api/error-logging/nothing-here/").status_code == 404
        assert not api_loaded()
        assert "pymongo" not in sys.modules and "collector.api.schemas" not in sys.modules
        """,
    )


def test_the_first_api_request_builds_the_api_and_freezes_the_heap_again(isolated_environment, database_url) -> None:
    run_fresh(
        database_url,
        """
        with TestClient(app) as client:
            frozen_at_start = gc.get_freeze_count()
            answer = client.get("/api/error-logging/errors/")
            assert answer.status_code == 401 and "missing API token" in answer.json()["detail"], answer.text
            assert api_loaded()
            assert gc.get_freeze_count() > frozen_at_start
            allowed = client.delete("/api/error-logging/developers/")
            assert allowed.status_code == 405 and set(allowed.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
        """,
    )


def test_the_collector_collects_young_objects_only_when_garbage_piles_up(isolated_environment, database_url) -> None:
    run_fresh(
        database_url,
        """
        from collector.app import YOUNG_COLLECTION_THRESHOLD
        before = gc.get_threshold()
        assert before[0] < YOUNG_COLLECTION_THRESHOLD
        with TestClient(app) as client:
            assert client.get("/api/error-logging/ready/").status_code == 200
            assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:])
        """,
    )
