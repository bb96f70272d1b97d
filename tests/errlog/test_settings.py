"""Settings come from the environment, then the TOML file, then defaults; bad values name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from errlog.settings import SettingsError, load_settings, settings_markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_embedded_sqlite_under_the_data_dir(isolated_environment):
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{isolated_environment / 'errlog.db'}"
    assert settings.uses_embedded_database
    assert settings.redis_url is None and settings.mongo_url is None
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.retention_days == 90
    assert settings.huey_sqlite_path == isolated_environment / "tasks.db"


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    config = tmp_path / "errlog.toml"
    config.write_text('retention_days = 30\npublic_url = "https://errors.example.com/"\nredis_url = "redis://r/1"\n')
    monkeypatch.setenv("ERRLOG_CONFIG", str(config))
    monkeypatch.setenv("ERRLOG_RETENTION_DAYS", "7")
    settings = load_settings()
    assert settings.retention_days == 7
    assert settings.public_url == "https://errors.example.com"
    assert settings.redis_url == "redis://r/1"


def test_database_url_is_used_as_given(monkeypatch):
    monkeypatch.setenv("ERRLOG_DATABASE_URL", "postgresql+psycopg://u@db/errlog")
    settings = load_settings()
    assert settings.effective_database_url == "postgresql+psycopg://u@db/errlog"
    assert not settings.uses_embedded_database


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ERRLOG_RETENTION_DAYS", "soon", "ERRLOG_RETENTION_DAYS"),
        ("ERRLOG_RETENTION_DAYS", "0", "greater than or equal to 1"),
        ("ERRLOG_PUBLIC_URL", "errlog.example.com", "ERRLOG_PUBLIC_URL: Value error, must be an http"),
        ("ERRLOG_DATABASE_URL", "errlog.db", "ERRLOG_DATABASE_URL"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings()


def test_a_malformed_config_file_is_reported_with_its_path(tmp_path, monkeypatch):
    config = tmp_path / "broken.toml"
    config.write_text("retention_days = \n")
    monkeypatch.setenv("ERRLOG_CONFIG", str(config))
    with pytest.raises(SettingsError, match=r"broken\.toml"):
        load_settings()


@pytest.mark.parametrize(
    ("public_url", "dsn"),
    [
        ("http://127.0.0.1:8000", "http://abc@127.0.0.1:8000/7"),
        ("https://errors.example.com", "https://abc@errors.example.com/7"),
        ("https://example.com/errlog/", "https://abc@example.com/errlog/7"),
    ],
)
def test_dsn_carries_host_port_and_path_of_the_public_url(monkeypatch, public_url, dsn):
    monkeypatch.setenv("ERRLOG_PUBLIC_URL", public_url)
    assert load_settings().dsn_for("abc", 7) == dsn


def test_readme_lists_every_setting_as_the_settings_module_describes_it():
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", readme, re.S)
    assert table, "README.md lost its settings table markers"
    assert table.group(1) == settings_markdown_table(), "regenerate with: python -m errlog.settings"
