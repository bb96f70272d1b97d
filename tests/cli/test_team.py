import json

from sqlalchemy import select

from db.models import AuditEntry, Team


def add_developers(errlog, *emails):
    for email in emails:
        assert errlog("developer", "add", "--name", email.split("@")[0].title(), "--email", email).exit_code == 0


def test_create_then_list(errlog, read):
    add_developers(errlog, "ana@example.com", "bob@example.com", "carol@example.com")
    result = errlog(
        "team", "create", "payments", "--member", "ana@example.com", "--member", "bob@example.com",
        "--lead", "carol@example.com",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created team payments" in result.stdout and "3 member(s)" in result.stdout

    [team] = json.loads(errlog("team", "list", "--json").stdout)
    assert team["name"] == "payments" and team["lead"] == "carol@example.com"
    assert team["members"] == ["ana@example.com", "bob@example.com", "carol@example.com"]
    human = errlog("team", "list").stdout.splitlines()
    assert human[0].split() == ["ID", "NAME", "LEAD", "MEMBERS"]
    assert "payments" in human[1] and "bob@example.com" in human[1]

    [entry] = read(select(AuditEntry).where(AuditEntry.action == "team.create"))
    assert entry.after["members"] == team["members"] and entry.target_id == str(team["id"])


def test_team_errors(errlog, read, one_line_error):
    add_developers(errlog, "ana@example.com")
    one_line_error(
        errlog("team", "create", "payments", "--member", "ghost@example.com"),
        "no developer with id or e-mail 'ghost@example.com'",
    )
    assert errlog("team", "create", "payments", "--member", "ana@example.com").exit_code == 0
    one_line_error(errlog("team", "create", "payments"), "a team named 'payments' already exists")
    assert len(read(select(Team))) == 1
