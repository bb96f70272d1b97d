import json

import pytest
from sqlalchemy import select

from db.enums import KeyKind
from db.keys import hash_secret
from db.models import AuditEntry, ProjectKey


def keys_of(read):
    return {key.id: key for key in read(select(ProjectKey))}


def test_add_prints_a_new_key_once_and_the_list_shows_every_key(errlog, read):
    created = json.loads(errlog("project", "create", "shop", "--json").stdout)

    webhook = json.loads(errlog("project", "key", "add", "shop", "--kind", "webhook", "--label", "ci", "--json").stdout)
    dsn = errlog("project", "key", "add", "shop", "--kind", "dsn", "--label", "ios-app", "--rate-limit", "600")
    assert dsn.exit_code == 0, dsn.output
    assert dsn.stdout.startswith("added dsn key ") and "http://" in dsn.stdout

    keys = keys_of(read)
    assert keys[webhook["id"]].key_lookup == hash_secret(webhook["webhook_token"])  # only its hash is kept
    assert (keys[webhook["id"]].kind, keys[webhook["id"]].label) == (KeyKind.WEBHOOK, "ci")
    listed = json.loads(errlog("project", "key", "list", "shop", "--json").stdout)
    assert [(k["kind"], k["label"], k["rate_limit_per_minute"], k["active"]) for k in listed] == [
        ("dsn", "default", None, True),
        ("webhook", "default", None, True),
        ("webhook", "ci", None, True),
        ("dsn", "ios-app", 600, True),
    ]
    assert listed[0]["dsn"] == created["dsn"] and listed[1]["dsn"] is None
    human = errlog("project", "key", "list", "shop").stdout
    assert webhook["webhook_token"] not in human and "600/min" in human
    # Both DSNs are the project's: `project list` shows every active one.
    assert json.loads(errlog("project", "list", "--json").stdout)[0]["dsns"] == [created["dsn"], listed[3]["dsn"]]


def test_set_and_revoke_change_one_key_and_are_audited(errlog, read):
    assert errlog("project", "create", "shop").exit_code == 0
    changed = errlog("project", "key", "set", "1", "--rate-limit", "120", "--label", "web")
    assert changed.exit_code == 0 and changed.stdout.strip() == "key 1: changed label, rate_limit_per_minute"
    assert errlog("project", "key", "set", "1", "--label", "web").stdout.strip() == "key 1: nothing changed"
    assert (keys_of(read)[1].label, keys_of(read)[1].rate_limit_per_minute) == ("web", 120)
    assert errlog("project", "key", "set", "1", "--rate-limit", "none").exit_code == 0
    assert keys_of(read)[1].rate_limit_per_minute is None

    assert errlog("project", "key", "revoke", "2").stdout.strip() == "revoked webhook key 2 of project shop"
    assert errlog("project", "key", "revoke", "2").stdout.strip() == "webhook key 2 of project shop was already revoked"
    assert [key.is_active for key in keys_of(read).values()] == [True, False]
    entries = [(e.action, e.target_id, e.before, e.after) for e in read(select(AuditEntry).order_by(AuditEntry.id))]
    assert entries[1:] == [
        (
            "project.key.update",
            "1",
            {"label": "default", "rate_limit_per_minute": None},
            {"label": "web", "rate_limit_per_minute": 120},
        ),
        ("project.key.update", "1", {"rate_limit_per_minute": 120}, {"rate_limit_per_minute": None}),
        ("project.key.revoke", "2", {"active": True}, {"active": False}),
    ]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["add", "shop", "--kind", "dsn", "--rate-limit", "0"], ["invalid rate limit 0: give 1-10,000,000"]),
        (["add", "shop", "--kind", "dsn", "--rate-limit", "lots"], ["invalid rate limit 'lots'"]),
        (["add", "shop", "--kind", "webhook", "--label", " "], ["invalid label ' '"]),
        (["add", "ghost", "--kind", "dsn"], ["no project named 'ghost'"]),
        (["set", "99", "--label", "x"], ["no key with id 99"]),
        (["set", "1"], ["nothing to change: give --label or --rate-limit"]),
        (["revoke", "99"], ["no key with id 99"]),
    ],
)
def test_bad_key_commands_are_one_line_errors_and_change_nothing(errlog, read, one_line_error, args, fragments):
    assert errlog("project", "create", "shop").exit_code == 0
    one_line_error(errlog("project", "key", *args), *fragments)
    assert [(key.label, key.rate_limit_per_minute, key.is_active) for key in keys_of(read).values()] == [
        ("default", None, True),
        ("default", None, True),
    ]
    assert [e.action for e in read(select(AuditEntry))] == ["project.create"]
