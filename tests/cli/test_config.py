import json

from errlog import __version__


def config_rows(result):
    assert result.exit_code == 0, result.output
    return {row["setting"]: row for row in json.loads(result.stdout)["settings"]}


def test_config_shows_values_and_sources_with_secrets_masked(cli, isolated_environment, tmp_path, monkeypatch):
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        'public_url = "https://errors.example.com"\nredis_url = "redis://:hunter2@10.0.0.5:6379/0"\n'
    )
    monkeypatch.setenv("ERRLOG_CONFIG", str(config_file))
    env = {
        "ERRLOG_DATABASE_URL": "postgresql+psycopg://errlog:s3cret@db.internal/errlog",
        "ERRLOG_RETENTION_DAYS": "30",
    }

    result = cli(["config", "--json"], env)
    rows = config_rows(result)
    assert "hunter2" not in result.stdout and "s3cret" not in result.stdout
    assert rows["database_url"] == {
        "setting": "database_url",
        "env": "ERRLOG_DATABASE_URL",
        "value": "postgresql+psycopg://errlog:********@db.internal/errlog",
        "source": "environment",
    }
    assert (rows["retention_days"]["value"], rows["retention_days"]["source"]) == (30, "environment")
    assert (rows["redis_url"]["value"], rows["redis_url"]["source"]) == (
        "redis://:********@10.0.0.5:6379/0",
        "config file",
    )
    assert rows["public_url"]["source"] == "config file"
    assert rows["mongo_url"] == {"setting": "mongo_url", "env": "ERRLOG_MONGO_URL", "value": None, "source": "default"}
    assert json.loads(result.stdout)["config_file"] == str(config_file)

    human = cli(["config"], env)
    assert human.stdout.splitlines()[0] == f"config file: {config_file}"
    assert "hunter2" not in human.stdout and "s3cret" not in human.stdout
    retention = next(line for line in human.stdout.splitlines() if line.startswith("ERRLOG_RETENTION_DAYS"))
    assert retention.split() == ["ERRLOG_RETENTION_DAYS", "30", "environment"]


def test_config_shows_the_embedded_database_by_default(cli, isolated_environment):
    rows = config_rows(cli(["config", "--json"], {}))
    assert rows["database_url"]["value"] == f"sqlite:///{isolated_environment / 'errlog.db'}"
    assert rows["database_url"]["source"] == "default"
    assert rows["data_dir"]["source"] == "environment"  # set by the isolated_environment fixture


def test_config_errors_are_one_line(cli, tmp_path, monkeypatch, one_line_error):
    one_line_error(cli(["config"], {"ERRLOG_RETENTION_DAYS": "0"}), "ERRLOG_RETENTION_DAYS")
    broken = tmp_path / "broken.toml"
    broken.write_text("public_url = \n")
    monkeypatch.setenv("ERRLOG_CONFIG", str(broken))
    one_line_error(cli(["config"], {}), f"cannot read config file {broken}")


def test_version(cli):
    result = cli(["--version"], {})
    assert result.exit_code == 0
    assert result.stdout == f"errlog {__version__}\n"


def test_config_json_masks_tokens_inside_tui_profiles(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from errlog.cli import main

    config = tmp_path / "errlog.toml"
    config.write_text('[tui_profiles.prod]\nserver = "https://errlog.example.com"\ntoken = "elg_very_secret"\n')
    monkeypatch.setenv("ERRLOG_CONFIG", str(config))
    result = CliRunner().invoke(main, ["config", "--json"])
    assert result.exit_code == 0, result.output
    assert "elg_very_secret" not in result.output
    assert "https://errlog.example.com" in result.output
