"""`errlog serve` checks the schema before it starts; with several workers it checks in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unreachable_database_is_one_error_line_whatever_the_workers(isolated_environment, workers):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "ERRLOG_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/errlog",  # nothing listens on port 1
    }
    result = subprocess.run(
        [sys.executable, "-m", "errlog.cli", "serve", "--workers", workers, "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "errlog: error: cannot use database postgresql+psycopg://postgres@127.0.0.1:1/errlog"
    )
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(("flag", "logged"), [([], False), (["--access-log"], True), (["--no-access-log"], False)])
def test_uvicorn_keeps_an_access_log_only_when_asked(errlog, monkeypatch, flag, logged):
    import uvicorn

    runs: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    result = errlog("serve", "--port", "8123", *flag)
    assert result.exit_code == 0, result.output
    assert [run["access_log"] for run in runs] == [logged]
