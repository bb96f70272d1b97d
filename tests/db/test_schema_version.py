"""The quick schema check agrees with Alembic: the same head, the stored revision, and an old schema still refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from db import schema_version
from db.migrate import downgrade, head_revision
from db.session import SchemaOutOfDate, create_db_engine, open_database


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert schema_version.script_head() == head_revision()


def test_a_database_at_the_head_is_current_and_one_behind_is_not(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        assert schema_version.stored_revision(engine) == head_revision()
        assert schema_version.is_current(engine)
        downgrade(engine, "-1")
        assert not schema_version.is_current(engine)
    finally:
        engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="errlog db upgrade"):
        open_database(database_url)
    engine, _ = open_database(database_url, auto_upgrade=True)
    try:
        assert schema_version.is_current(engine)
    finally:
        engine.dispose()


def test_no_version_table_is_not_current(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert schema_version.stored_revision(engine) is None and not schema_version.is_current(engine)
        with engine.begin() as connection:  # two rows: a branched history only Alembic can judge
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version VALUES ('0001'), ('0002')"))
        assert schema_version.stored_revision(engine) is None
    finally:
        engine.dispose()


def test_a_history_that_is_not_one_line_is_left_to_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    monkeypatch.setattr(schema_version, "VERSIONS_DIR", tmp_path)
    schema_version.script_head.cache_clear()
    try:
        assert schema_version.script_head() == "b"
        schema_version.script_head.cache_clear()
        (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')  # two heads
        assert schema_version.script_head() is None
        schema_version.script_head.cache_clear()
        (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')  # a merge
        assert schema_version.script_head() is None
    finally:
        schema_version.script_head.cache_clear()


def test_opening_a_current_database_does_not_import_alembic(database_url: str) -> None:
    code = (
        "import sys; from db.session import open_database; "
        f"engine, _ = open_database({database_url!r}); engine.dispose(); "
        "print('alembic' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
