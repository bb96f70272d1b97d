import json

import pytest
import sentry_sdk
from sqlalchemy import select

from db.enums import KeyKind
from db.keys import hash_secret
from db.models import AuditEntry, Developer, Project, ProjectKey, Team


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
    # A trailing newline (a name pasted from a file) would end the pattern's $ anchor: the whole name is checked.
    one_line_error(errlog("project", "create", "web\n"), "invalid project name")
    one_line_error(errlog("project", "create", "web", "--platform", "python\n"), "invalid platform")
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


def test_set_changes_settings_shows_them_and_audits_the_change(errlog, read):
    assert errlog("project", "create", "shop").exit_code == 0
    assert errlog("developer", "add", "--name", "Ada", "--email", "ada@example.com").exit_code == 0
    assert errlog("team", "create", "payments", "--member", "ada@example.com").exit_code == 0

    result = errlog(
        "project", "set", "shop",
        "--team", "payments", "--fallback-developer", "ADA@example.com", "--alert-threshold", "100/5",
        "--max-events-per-minute", "600", "--alert-environments", "production, staging",
        "--route", "critical=sms,slack", "--route", "low=", "--webhook-url", "https://hooks.example.com/T0/secret",
        "--scrub-ip-addresses", "--scrub-emails", "--grouping-version", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("changed team_id, fallback_developer_id, alert_threshold_events")
    shown = {line.split("  ")[1].strip(): line.split("  ", 2)[-1].strip() for line in lines[1:]}
    assert shown["alert threshold"] == "100 events in 5 min"
    assert shown["routing"] == "critical=sms,slack; low=(nobody)"
    assert shown["grouping"].startswith("v1 (transition until ")

    [project] = read(select(Project))
    [team], [ada] = read(select(Team)), read(select(Developer))
    assert (project.team_id, project.fallback_developer_id) == (team.id, ada.id)
    assert (project.alert_threshold_events, project.alert_threshold_minutes, project.max_events_per_minute) == (
        100,
        5,
        600,
    )
    assert project.alert_environments == ["production", "staging"]
    assert project.routing == {"critical": ["sms", "slack"], "low": []}
    assert (project.scrub_ip_addresses, project.scrub_emails) == (True, True)
    assert (project.grouping_version, project.previous_grouping_version) == (1, 2)

    [entry] = [e for e in read(select(AuditEntry)) if e.action == "project.update"]
    assert (entry.actor, entry.target_id) == ("cli", str(project.id))
    assert entry.before["routing"] is None and entry.after["routing"] == {"critical": ["sms", "slack"], "low": []}
    assert entry.after["webhook_url"] == "https://hooks.example.com/…"  # the secret path stays out of the log

    shown_json = json.loads(errlog("project", "show", str(project.id), "--json").stdout)
    assert shown_json["webhook_url"] == "https://hooks.example.com/T0/secret"
    assert (shown_json["team"], shown_json["fallback_developer"]) == ("payments", "ada@example.com")
    assert shown_json["grouping_transition_until"] is not None


def test_set_routes_one_severity_at_a_time_and_clears_with_none(errlog, read):
    assert errlog("project", "create", "shop").exit_code == 0
    assert errlog("project", "set", "shop", "--route", "critical=sms", "--alert-threshold", "10/1").exit_code == 0
    assert errlog("project", "set", "shop", "--route", "high=slack,email").exit_code == 0
    [project] = read(select(Project))
    assert project.routing == {"critical": ["sms"], "high": ["slack", "email"]}  # critical kept

    again = errlog("project", "set", "shop", "--route", "high=slack,email")
    assert again.exit_code == 0 and again.stdout.startswith("nothing changed")
    cleared = errlog(
        "project", "set", "shop", "--default-routing", "--alert-threshold", "none", "--alert-environments", "all"
    )
    assert cleared.exit_code == 0, cleared.output
    [project] = read(select(Project))
    assert (project.routing, project.alert_threshold_events, project.alert_environments) == (None, None, None)
    assert [e.action for e in read(select(AuditEntry))] == ["project.create", *["project.update"] * 3]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--alert-threshold", "100"], ["--alert-threshold '100': write EVENTS/MINUTES"]),
        (["--alert-threshold", "x/5"], ["--alert-threshold: 'x' is not a whole number"]),
        (["--alert-threshold", "0/5"], ["--alert-threshold:", "greater than or equal to 1"]),
        (["--max-events-per-minute", "0"], ["--max-events-per-minute:", "greater than or equal to 1"]),
        (["--route", "urgent=sms"], ["--route: unknown severity 'urgent'"]),
        (["--route", "critical=pigeon"], ["--route:", "unknown channel 'pigeon'"]),
        (["--route", "critical"], ["--route 'critical': write SEVERITY=CHANNEL"]),
        (["--route", "critical=sms", "--default-routing"], ["contradict each other"]),
        (["--webhook-url", "ftp://example.com/x"], ["--webhook-url: expected an http:// or https:// URL"]),
        (["--grouping-version", "9"], ["--grouping-version: unknown grouping version 9; known versions: 1, 2"]),
        (["--team", "nobody"], ["no team named 'nobody'"]),
        (["--fallback-developer", "eve@example.com"], ["no developer with id or e-mail 'eve@example.com'"]),
        (["--platform", "Py thon"], ["--platform: invalid platform 'Py thon'"]),
        ([], ["nothing to change"]),
    ],
)
def test_set_refuses_bad_values_with_one_line_and_changes_nothing(errlog, read, one_line_error, args, fragments):
    assert errlog("project", "create", "shop").exit_code == 0
    one_line_error(errlog("project", "set", "shop", *args), *fragments)
    [project] = read(select(Project))
    assert (project.routing, project.alert_threshold_events, project.webhook_url, project.team_id) == (
        None,
        None,
        None,
        None,
    )
    assert project.grouping_version == 2
    assert [e.action for e in read(select(AuditEntry))] == ["project.create"]


def test_set_and_show_name_an_unknown_project(errlog, one_line_error):
    one_line_error(errlog("project", "set", "ghost", "--platform", "go"), "no project named 'ghost'")
    one_line_error(errlog("project", "show", "ghost"), "no project named 'ghost'")
