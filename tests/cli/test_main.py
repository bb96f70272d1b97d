"""The real entry point, `python -m errlog.cli`, in a subprocess on the embedded default database."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from db import migrate
from db.models import AuditEntry, Project
from db.session import create_db_engine

ROOT = Path(__file__).resolve().parents[2]


def run_errlog(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("ERRLOG_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "errlog.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_first_command_creates_and_migrates_the_embedded_database(isolated_environment):
    database = isolated_environment / "errlog.db"
    assert not database.exists()

    created = run_errlog("project", "create", "shop", "--json")
    assert created.returncode == 0, created.stderr
    project = json.loads(created.stdout)

    assert database.is_file()
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as conn:
            assert conn.execute(select(Project.id, Project.name)).all() == [(project["id"], "shop")]
            assert conn.scalars(select(AuditEntry.action)).all() == ["project.create"]
    finally:
        engine.dispose()

    listed = run_errlog("project", "list")
    assert listed.returncode == 0 and project["dsn"] in listed.stdout


def test_expected_failure_is_one_line_on_stderr(isolated_environment):
    result = run_errlog("developer", "add", "--name", "Ana", "--email", "not-an-address")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1
    assert result.stderr.startswith("errlog: error: invalid e-mail address 'not-an-address': expected something like")


def test_version_and_help_name_the_program(isolated_environment):
    version = run_errlog("--version")
    assert version.returncode == 0 and version.stdout.startswith("errlog ")
    usage = run_errlog("project", "create")
    assert usage.returncode == 2
    assert usage.stderr.startswith("Usage: errlog project create")
