"""`errlog heartbeat add|list|delete` on the test database."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.models import Heartbeat


def test_add_prints_the_check_in_url_and_a_curl_line(errlog, read, audit_actions):
    assert errlog("project", "create", "billing").exit_code == 0
    result = errlog("heartbeat", "add", "--project", "billing", "--slug", "nightly-invoices", "--every", "1440",
                    "--grace", "30", ERRLOG_PUBLIC_URL="https://errlog.example.com")  # fmt: skip
    assert result.exit_code == 0, result.output
    [heartbeat] = read(select(Heartbeat))
    assert (heartbeat.slug, heartbeat.interval_minutes, heartbeat.grace_minutes) == ("nightly-invoices", 1440, 30)
    prefix = f"https://errlog.example.com/api/{heartbeat.project_id}/cron/nightly-invoices/"
    assert prefix in result.stdout
    assert "curl -fsS" in result.stdout and "?status=ok" in result.stdout
    assert ("cli", "heartbeat.create", "heartbeat") in audit_actions()


def test_list_and_delete(errlog, read, audit_actions):
    errlog("project", "create", "billing")
    errlog("heartbeat", "add", "--project", "billing", "--slug", "nightly-invoices", "--every", "1440")
    [row] = json.loads(errlog("heartbeat", "list", "--json").stdout)
    assert (row["project"], row["slug"], row["state"], row["grace_minutes"]) == ("billing", "nightly-invoices",
                                                                                 "waiting", 5)  # fmt: skip
    assert "nightly-invoices" in errlog("heartbeat", "list", "--project", "billing").stdout

    deleted = errlog("heartbeat", "delete", "--project", "billing", "--slug", "nightly-invoices")
    assert deleted.exit_code == 0 and "deleted heartbeat nightly-invoices" in deleted.stdout
    assert read(select(Heartbeat)) == []
    assert ("cli", "heartbeat.delete", "heartbeat") in audit_actions()
    assert "no heartbeats yet" in errlog("heartbeat", "list").stdout


def test_mistakes_are_one_error_line(errlog, read):
    errlog("project", "create", "billing")
    cases = [
        (["--project", "nope", "--slug", "a", "--every", "5"], "no project named 'nope'"),
        (["--project", "billing", "--slug", "Bad Slug", "--every", "5"], "invalid slug"),
        (["--project", "billing", "--slug", "a", "--every", "0"], "interval must be between"),
        (["--project", "billing", "--slug", "a", "--every", "5", "--grace", "-1"], "grace must be between"),
    ]
    for args, message in cases:
        result = errlog("heartbeat", "add", *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("errlog: error: ") and message in result.stderr, result.stderr
    assert errlog("heartbeat", "add", "--project", "billing", "--slug", "a", "--every", "5").exit_code == 0
    again = errlog("heartbeat", "add", "--project", "billing", "--slug", "a", "--every", "5")
    assert again.exit_code == 1 and "already has a heartbeat 'a'" in again.stderr
    missing = errlog("heartbeat", "delete", "--project", "billing", "--slug", "zzz")
    assert missing.exit_code == 1 and "has no heartbeat 'zzz'" in missing.stderr
    assert len(read(select(Heartbeat))) == 1
