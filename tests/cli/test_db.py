import pytest
from sqlalchemy import select

from db import migrate
from db.models import Project
from db.session import create_db_engine
from tests.conftest import temporary_postgres_database


@pytest.mark.postgres
def test_a_database_that_was_never_upgraded_says_to_run_db_upgrade(postgres_admin_url, cli, one_line_error):
    with temporary_postgres_database(postgres_admin_url) as url:
        env = {"ERRLOG_DATABASE_URL": url}

        one_line_error(cli(["project", "create", "shop"], env), "revision none", "run `errlog db upgrade`")
        current = cli(["db", "current"], env)
        assert current.exit_code == 0
        assert "revision  none" in current.stdout and "needs `errlog db upgrade`" in current.stdout

        upgraded = cli(["db", "upgrade"], env)
        assert upgraded.exit_code == 0, upgraded.output
        assert f"from revision none to {migrate.head_revision()}" in upgraded.stdout

        assert cli(["project", "create", "shop"], env).exit_code == 0
        assert "status    up to date" in cli(["db", "current"], env).stdout
        engine = create_db_engine(url)
        try:
            assert migrate.is_up_to_date(engine)
            with engine.connect() as conn:
                assert conn.scalars(select(Project.name)).all() == ["shop"]
        finally:
            engine.dispose()


def test_upgrade_on_an_up_to_date_database_changes_nothing(errlog):
    result = errlog("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"already at revision {migrate.head_revision()} (head)" in result.stdout


def test_unreachable_database_is_one_line_error(cli, one_line_error):
    env = {"ERRLOG_DATABASE_URL": "postgresql+psycopg://errlog:hunter2@127.0.0.1:1/errlog"}
    for args in (["project", "list"], ["db", "upgrade"], ["db", "current"]):
        result = cli(args, env)
        one_line_error(result, "127.0.0.1:1")
        assert "hunter2" not in result.stderr


def test_invalid_settings_are_one_line_error(cli, one_line_error):
    one_line_error(cli(["project", "list"], {"ERRLOG_PUBLIC_URL": "ftp://example.com"}), "ERRLOG_PUBLIC_URL")
    one_line_error(cli(["db", "current"], {"ERRLOG_DATABASE_URL": "errlog.db"}), "ERRLOG_DATABASE_URL")
    one_line_error(cli(["project", "list"], {"ERRLOG_DATABASE_URL": "nosuchdb://x/y"}), "nosuchdb")
