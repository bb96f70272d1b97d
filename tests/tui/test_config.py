"""Where errlog-tui connects: options over the environment over the config file's profiles; local mode otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.config import ConfigError, resolve_config


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[tui_profiles.prod]\nserver = "https://errlog.example.com/"\ntoken = "prod-token"\n'
        '[tui_profiles.staging]\nserver = "http://staging:8000"\n'
        '[tui_keymap]\nresolve = "x"\n'
    )
    monkeypatch.setenv("ERRLOG_CONFIG", str(path))
    return path


def test_no_server_anywhere_means_local_mode(isolated_environment: Path) -> None:
    config = resolve_config()
    assert config.remote is None
    assert config.data_dir == isolated_environment


def test_server_and_token_options(monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve_config(server="http://errlog.internal:8000/", token="t1")
    assert config.remote is not None
    assert (config.remote.server, config.remote.token, config.remote.source) == (
        "http://errlog.internal:8000",
        "t1",
        "--server",
    )


def test_environment_gives_server_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERRLOG_SERVER", "https://errors.example.com")
    monkeypatch.setenv("ERRLOG_TOKEN", "env-token")
    remote = resolve_config().remote
    assert remote is not None
    assert (remote.server, remote.token, remote.source) == ("https://errors.example.com", "env-token", "ERRLOG_SERVER")


def test_option_token_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERRLOG_SERVER", "https://errors.example.com")
    monkeypatch.setenv("ERRLOG_TOKEN", "env-token")
    remote = resolve_config(token="option-token").remote
    assert remote is not None and remote.token == "option-token"


def test_profile_from_the_config_file(config_file: Path) -> None:
    config = resolve_config(profile="prod")
    assert config.remote is not None
    assert (config.remote.server, config.remote.token, config.remote.source) == (
        "https://errlog.example.com",
        "prod-token",
        "profile prod",
    )
    assert config.keymap == {"resolve": "x"}


def test_default_profile_from_the_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERRLOG_TUI_PROFILE", "prod")
    remote = resolve_config().remote
    assert remote is not None and remote.source == "profile prod"


def test_unknown_profile_names_the_known_ones(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'dev' \(profiles: prod, staging\)"):
        resolve_config(profile="dev")


def test_profile_without_token_needs_one(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"no API token for http://staging:8000 \(profile staging\): pass --token"):
        resolve_config(profile="staging")
    remote = resolve_config(profile="staging", token="given").remote
    assert remote is not None and remote.token == "given"


def test_server_and_profile_together_are_refused(config_file: Path) -> None:
    with pytest.raises(ConfigError, match="either --server or --profile"):
        resolve_config(server="http://a:1", profile="prod")


def test_token_without_server_is_refused() -> None:
    with pytest.raises(ConfigError, match="--token needs a server"):
        resolve_config(token="lonely")


def test_bad_server_url_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"--server: .*http:// or https://"):
        resolve_config(server="ftp://example.com", token="t")


def test_bad_profile_in_config_file_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[tui_profiles.prod]\nserver = "errlog.example.com"\n')
    monkeypatch.setenv("ERRLOG_CONFIG", str(path))
    with pytest.raises(ConfigError, match=r"ERRLOG_TUI_PROFILES\.PROD\.SERVER"):
        resolve_config()
