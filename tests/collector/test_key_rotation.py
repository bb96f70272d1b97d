"""Keys added, limited and revoked with `errlog project key` take effect on a collector that is already running: a
new key at once (looked up on its first use), a revoked key and a key's own rate limit at its next reload of keys."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from collector.directory import RELOAD_SECONDS
from errlog.cli import main
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event

WEBHOOK = "/api/error-logging/webhook/generic/"


def test_keys_changed_from_the_command_line_apply_to_a_running_collector(collector, database_url):
    project_id, dsn, old_token = collector.create_project()

    def errlog(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env={"ERRLOG_DATABASE_URL": database_url}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    def webhook(client, token: str) -> int:
        return client.post(WEBHOOK, json={"message": "refund failed"}, headers={"X-Errlog-Token": token}).status_code

    def envelope(client) -> int:
        answer = client.post(
            f"/api/{project_id}/envelope/", content=make_envelope(make_event("slow")), headers=auth_header(key_of(dsn))
        )
        return answer.status_code

    with collector.client() as client:
        assert webhook(client, old_token) == 200
        new_token = json.loads(
            errlog("project", "key", "add", str(project_id), "--kind", "webhook", "--label", "rotated", "--json")
        )["webhook_token"]
        assert webhook(client, new_token) == 200  # at once: an unknown key is looked up on its first use

        keys = {
            key["kind"] + key["label"]: key["id"]
            for key in json.loads(errlog("project", "key", "list", "shop", "--json"))
        }
        errlog("project", "key", "revoke", str(keys["webhookdefault"]))
        errlog("project", "key", "set", str(keys["dsndefault"]), "--rate-limit", "1")
        deadline = time.monotonic() + 3 * RELOAD_SECONDS
        while webhook(client, old_token) == 200:  # until the next reload of keys
            assert time.monotonic() < deadline, "the revoked token still works"
            time.sleep(0.2)
        refused = client.post(WEBHOOK, json={"message": "x"}, headers={"X-Errlog-Token": old_token})
        assert (refused.status_code, refused.json()["detail"]) == (403, "unknown or revoked webhook token")
        assert webhook(client, new_token) == 200

        # The same reload brought the DSN key's own limit: one event a minute, a burst of one.
        assert [envelope(client), envelope(client)] == [200, 429]
