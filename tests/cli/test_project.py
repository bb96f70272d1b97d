import json

import sentry_sdk
from sqlalchemy import select

from db.enums import KeyKind
from db.keys import hash_secret
from db.models import AuditEntry, Project, ProjectKey


def test_create_json_prints_a_dsn_the_sentry_sdk_accepts(errlog, read):
    result = errlog("project", "create", "shop", "--platform", "python", "--json")
    assert result.exit_code == 0, result.output

    created = json.loads(result.stdout)
    assert set(created) == {"id", "name", "dsn", "webhook_token"}
    [project] = read(select(Project))
    assert (created["id"], created["name"], project.platform) == (project.id, "shop", "python")

    sentry_sdk.init(dsn=created["dsn"], default_integrations=False)
    try:
        parsed = sentry_sdk.get_client().parsed_dsn
        assert parsed is not None
        assert parsed.project_id == str(project.id)
        assert parsed.to_auth().get_api_url() == f"http://127.0.0.1:8000/api/{project.id}/envelope/"
        keys = {key.kind: key.key_lookup for key in read(select(ProjectKey))}
        assert keys[KeyKind.DSN] == parsed.public_key
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # back to a client with no DSN, so no other test sends anything

    # The webhook token is shown once; the database holds only its hash.
    assert keys[KeyKind.WEBHOOK] == hash_secret(created["webhook_token"])
    assert created["webhook_token"] not in keys.values()


def test_create_human_output_uses_the_public_url(errlog):
    result = errlog("project", "create", "shop", ERRLOG_PUBLIC_URL="https://errors.example.com/")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("created project shop (id ")
    dsn_line = next(line for line in lines if line.split()[0] == "dsn")
    assert dsn_line.split()[1].startswith("https://") and dsn_line.split()[1].endswith("@errors.example.com/1")
    assert "https://errors.example.com/api/error-logging/webhook/<kind>/" in result.stdout
    assert any(line.split()[:2] == ["webhook", "token"] and line.split()[2].startswith("elw_") for line in lines)


def test_create_is_audited(errlog, read):
    project_id = json.loads(errlog("project", "create", "shop", "--json").stdout)["id"]
    [entry] = read(select(AuditEntry))
    assert (entry.actor, entry.action, entry.target_type, entry.target_id) == (
        "cli",
        "project.create",
        "project",
        str(project_id),
    )
    assert entry.after == {"name": "shop", "platform": None}


def test_duplicate_and_invalid_names_are_one_line_errors(errlog, read, one_line_error):
    assert errlog("project", "create", "shop").exit_code == 0
    one_line_error(errlog("project", "create", "shop"), "a project named 'shop' already exists")
    one_line_error(errlog("project", "create", "no spaces allowed"), "invalid project name")
    one_line_error(errlog("project", "create", "web", "--platform", "Py thon"), "invalid platform")
    assert [p.name for p in read(select(Project))] == ["shop"]
    assert len(read(select(AuditEntry))) == 1


def test_list_shows_every_project_with_its_dsn(errlog):
    assert "no projects yet" in errlog("project", "list").stdout
    shop = json.loads(errlog("project", "create", "shop", "--json").stdout)
    api = json.loads(errlog("project", "create", "api", "--json").stdout)

    listed = json.loads(errlog("project", "list", "--json").stdout)
    assert [(p["name"], p["dsns"]) for p in listed] == [("api", [api["dsn"]]), ("shop", [shop["dsn"]])]
    human = errlog("project", "list").stdout.splitlines()
    assert human[0].split() == ["ID", "NAME", "PLATFORM", "GROUPING", "CREATED", "DSN"]
    assert human[2].split()[1] == "shop" and human[2].endswith(shop["dsn"])
    assert human[2].split()[3] == "v2" and {p["grouping_version"] for p in listed} == {2}  # new projects: newest
    assert shop["webhook_token"] not in "\n".join(human)
