"""`bench.tui` on tiny sizes: the first screen of a real local-mode console, and scrolling a seeded PostgreSQL queue
to its end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.tui import main


def test_the_first_screen_is_timed_on_a_local_console(tmp_path: Path, isolated_environment: Path, capsys) -> None:
    results = tmp_path / "tui.json"
    assert main(["--skip-scroll", "--local-errors", "3", "--runs", "2", "--json-out", str(results)]) == 0
    first = json.loads(results.read_text())["first_screen"]
    assert first["errors"] == 3 and first["rows_ms"]["n"] == 2
    assert 0 < first["connected_ms"]["p50"] <= first["rows_ms"]["p50"]
    out = capsys.readouterr().out
    assert "rows shown, app already imported: p50" in out and "rows shown, from the command:     p50" in out


@pytest.fixture
def bench_database(postgres_admin_url: str):
    url = make_url(postgres_admin_url).set(database=f"errlog_tui_bench_{uuid.uuid4().hex[:8]}")
    yield url.render_as_string(hide_password=False)
    engine = create_engine(make_url(postgres_admin_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def test_scrolling_a_seeded_queue_reaches_its_end(tmp_path: Path, isolated_environment: Path, bench_database) -> None:
    results = tmp_path / "tui.json"
    argv = ["--skip-first-screen", "--database-url", bench_database, "--errors", "400", "--events", "500"]
    assert main([*argv, "--pages", "3", "--ends", "20", "--json-out", str(results)]) == 0
    scroll = json.loads(results.read_text())["scroll"]
    assert scroll["errors"] == 400 and scroll["page_down_ms"]["n"] == 3
    # Every open error ends up loaded, page by page, and no more: the queue never reads the whole table at once.
    assert scroll["rows_loaded"] == scroll["open"] and 1 <= scroll["end_ms"]["n"] <= 20


def test_nonsense_sizes_are_refused(capsys) -> None:
    assert main(["--skip-scroll", "--runs", "0"]) == 2
    assert "--runs >= 1" in capsys.readouterr().err
    assert main(["--database-url", "postgresql+psycopg://postgres@127.0.0.1/production"]) == 2
