import json

import pytest
from sqlalchemy import select

from db.models import AuditEntry, Developer


def test_add_then_list(errlog, read, audit_actions):
    added = errlog(
        "developer", "add", "--name", "Ana Lima", "--email", "Ana@Example.com",
        "--phone", "+4915123456789", "--slack-id", "U024BE7LH", "--ntfy-topic", "ana-pager",
        "--timezone", "Europe/Berlin",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added developer Ana Lima <ana@example.com>" in added.stdout

    listed = errlog("developer", "list", "--json")
    [row] = json.loads(listed.stdout)
    assert row == {
        "id": read(select(Developer.id))[0],
        "name": "Ana Lima",
        "email": "ana@example.com",
        "phone": "+4915123456789",
        "slack_id": "U024BE7LH",
        "ntfy_topic": "ana-pager",
        "timezone": "Europe/Berlin",
    }
    human = errlog("developer", "list").stdout.splitlines()
    assert human[0].split() == ["ID", "NAME", "EMAIL", "PHONE", "SLACK", "NTFY", "TIMEZONE"]
    assert "ana@example.com" in human[1] and "Europe/Berlin" in human[1]

    assert audit_actions() == [("cli", "developer.create", "developer")]
    [entry] = read(select(AuditEntry))
    assert entry.target_id == str(row["id"]) and entry.after["email"] == "ana@example.com"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "ana-at-example.com"], "invalid e-mail address 'ana-at-example.com'"),
        (["--email", "ana@example.com", "--phone", "0151 2345678"], "E.164"),
        (["--email", "ana@example.com", "--timezone", "Berlin"], "unknown time zone 'Berlin'"),
    ],
)
def test_invalid_developer_is_one_line_error(errlog, read, one_line_error, args, message):
    result = errlog("developer", "add", "--name", "Ana", *args)
    one_line_error(result, message)
    assert read(select(Developer)) == []
    assert read(select(AuditEntry)) == []


def test_duplicate_email_is_one_line_error(errlog, read, one_line_error):
    assert errlog("developer", "add", "--name", "Ana", "--email", "ana@example.com").exit_code == 0
    result = errlog("developer", "add", "--name", "Ana Two", "--email", "ANA@example.com")
    one_line_error(result, "a developer with e-mail ana@example.com already exists")
    assert len(read(select(Developer))) == 1


def test_missing_required_option_is_a_usage_error(errlog):
    result = errlog("developer", "add", "--name", "Ana")
    assert result.exit_code == 2
    assert "--email" in result.stderr


def test_empty_list_says_how_to_add(errlog):
    result = errlog("developer", "list")
    assert result.exit_code == 0
    assert "errlog developer add" in result.stdout
    assert json.loads(errlog("developer", "list", "--json").stdout) == []
