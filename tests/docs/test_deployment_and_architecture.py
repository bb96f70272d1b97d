"""docs/deployment.md and docs/architecture.md against the code: the TOML example loads, the nginx config fits the
collector's limits, the health answers look as shown, the SQLite backup works on a live database, the schema
diagram names real tables, columns and relations, and the guide's tables match the code they describe."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from collector.body import MAX_COMPRESSED_REQUEST_SIZE
from collector.ingest import COMMIT_WAIT_SECONDS
from collector.normalize import SEVERITY_OF_LEVEL
from db.base import Base
from errlog.cli.serve import uvicorn_options
from errlog.settings import load_settings
from tasks.alerts import TRIGGERS
from tasks.channels.email import parse_smtp_url
from tasks.routing import DEFAULT_MATRIX
from tests.docs.examples import DOCS, ROOT, block, checked_names, fenced_blocks, section

# How each checked block of these guides is proven (integrations.md has its own registry).
PROOF = {
    "guide.md": {
        "oncall-commands": "run: each command, in order, on a fresh database",
        "project-settings": "run: each command, in order, after the on-call block's developer and team",
        "query-examples": "run against the API",
        "query-curl": "run with curl",
        "query-error": "compared with the API's answer",
        "webhook-signature": "run against errlog's own signatures",
        "scrub-settings": "loaded as settings and applied to an event",
        "messages": "reproduced live, or found in the code",
        "tui-profiles": "loaded as the config file: tests/tui/test_guide.py",
        "tui-keys": "compared with the code's key bindings: tests/tui/test_guide.py",
        "tui-keymap": "loaded as the config file, the keys checked in the console: tests/tui/test_guide.py",
        "heartbeat-add": "run: creates the monitor the next two check in to",
        "heartbeat-curl": "run with curl against the live collector, for a job that succeeds and one that fails",
        "heartbeat-python": "run with the real sentry-sdk against the live collector",
    },
    "deployment.md": {
        "config-toml": "loaded as the config file",
        "compose": "errlog commands checked",
        "postgres-setup": "errlog commands checked",
        "systemd-collector": "ExecStart checked",
        "nginx": "directives checked against the collector's limits",
        "workers": "errlog commands checked",
        "systemd-worker": "ExecStart checked, stop signal",
        "backup-postgres": "documented only: needs pg_dump and a database of its own",
        "backup-sqlite": "run on a live database",
        "ready-output": "compared with the live answer",
    },
    "architecture.md": {
        "components": "diagram",
        "event-sequence": "diagram",
        "states": "diagram: statuses checked",
        "routing": "diagram",
        "escalation": "diagram",
        "analysis": "diagram",
        "heartbeats": "diagram",
        "schema": "tables, columns and relations checked",
        "console-start": "diagram",
    },
}


@pytest.mark.parametrize("doc", sorted(PROOF))
def test_every_code_block_is_marked_and_every_marker_has_a_proof(doc):
    assert checked_names(doc) == set(PROOF[doc])
    marked_fences = len(checked_names(doc)) - sum(
        1 for name in PROOF[doc] if name in ("query-examples", "messages", "tui-keys")
    )
    assert len(fenced_blocks(DOCS / doc)) == marked_fences, f"docs/{doc} has a code block without a check marker"


def test_the_toml_example_is_a_valid_config_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(block("deployment.md", "config-toml").text)
    monkeypatch.setenv("ERRLOG_CONFIG", str(config))
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://errlog:change-me@db.internal:5432/errlog"
    assert settings.rate_limit_per_key == 600 and settings.scrub_extra_keys == ["tenant_key", "national_id"]
    assert settings.public_url == "https://errlog.example.com"
    smtp = parse_smtp_url(settings.smtp_url or "")
    assert (smtp.username, smtp.security, smtp.port) == ("alerts@example.com", "starttls", 587)


def _nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def test_the_nginx_config_lets_every_accepted_request_through():
    text = block("deployment.md", "nginx").text
    assert text.count("{") == text.count("}")
    [body_size] = re.findall(r"client_max_body_size (\w+);", text)
    assert _nginx_size(body_size) >= MAX_COMPRESSED_REQUEST_SIZE
    [read_timeout] = re.findall(r"proxy_read_timeout (\d+)s;", text)
    assert int(read_timeout) > COMMIT_WAIT_SECONDS
    for header in ("X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme", "Host $host"):
        assert f"proxy_set_header {header};" in text
    assert "location = /api/error-logging/ready/" in text


def test_the_collector_trusts_forwarded_headers_only_from_the_configured_proxies(isolated_environment):
    # The options of uvicorn in `errlog serve`, one process or each of its workers.
    options = uvicorn_options(load_settings(trusted_proxies="10.0.0.7"), "info", False)
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.0.0.7"


def test_the_health_answers_look_as_documented(docs_project):
    with docs_project.client() as client:
        health = client.get("/api/error-logging/webhook/health/")
        ready = client.get("/api/error-logging/ready/")
    assert health.status_code == 200 and set(health.json()) == {"status", "version"}
    assert ready.status_code == 200
    shown, live = json.loads(block("deployment.md", "ready-output").text), ready.json()
    assert shown["status"] == live["status"] == "ready"
    assert set(live["checks"]) <= set(shown["checks"]) | {"archive"}
    for name, check in live["checks"].items():
        if name in shown["checks"]:
            assert set(shown["checks"][name]) == set(check), name
    assert set(shown["checks"]["redis"]) == set(live["checks"]["database"])  # the same shape as every service check


def test_the_worker_unit_stops_workers_gracefully():
    unit = block("deployment.md", "systemd-worker").text
    assert "KillSignal=SIGINT" in unit and "--no-periodic" not in unit
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "stop_signal: SIGINT" in compose


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 command-line tool is not installed")
def test_the_sqlite_backup_and_restore_commands_work_on_a_live_database(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERRLOG_")}
    env.update(HOME=str(home), ERRLOG_CONFIG=str(tmp_path / "none.toml"))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):  # the data dir must come from HOME, as the docs' path assumes
        env.pop(name, None)

    def errlog(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "errlog.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    errlog("project", "create", "before-backup")  # the embedded default: ~/.local/share/errlog/errlog.db
    assert (home / ".local/share/errlog/errlog.db").exists()
    restore_note = "# restore: stop errlog serve and errlog worker, then\n"
    backup, restore = block("deployment.md", "backup-sqlite").text.split(restore_note)
    backups = tmp_path / "backups"
    backups.mkdir()
    subprocess.run(["bash", "-c", backup.replace("/backups", str(backups))], env=env, check=True, timeout=60)
    [copy] = list(backups.iterdir())
    errlog("project", "create", "after-backup")
    restore = restore.replace("/backups/errlog-2026-12-01.db", str(copy))
    subprocess.run(["bash", "-c", restore], env=env, check=True, timeout=60)
    listed = errlog("project", "list")
    assert "before-backup" in listed and "after-backup" not in listed


# --- architecture ---------------------------------------------------------------------------------------------


def _schema() -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    text = block("architecture.md", "schema").text
    relations = re.findall(r"^\s*(\w+) [|}o]{2}--[|{o]{2} (\w+) :", text, re.M)
    bodies = re.findall(r"^\s*(\w+) \{\n(.*?)\n\s*\}", text, re.M | re.S)
    entities = {name: re.findall(r"^\s*\w+ (\w+)$", body, re.M) for name, body in bodies}
    return relations, entities


def test_the_schema_diagram_names_real_tables_columns_and_relations():
    import db.models  # noqa: F401  (registers every table)

    tables = Base.metadata.tables
    relations, entities = _schema()
    assert len(relations) >= 20 and len(entities) >= 5
    for name, columns in entities.items():
        assert name in tables, name
        assert set(columns) <= set(tables[name].columns.keys()), (name, set(columns) - set(tables[name].columns.keys()))
    for left, right in relations:
        assert left in tables and right in tables, (left, right)
        linked = {fk.column.table.name for fk in tables[left].foreign_keys} | {
            fk.column.table.name for fk in tables[right].foreign_keys
        }
        assert right in linked or left in linked, f"no foreign key between {left} and {right}"


def test_the_state_diagram_uses_the_real_statuses():
    from db.enums import IssueStatus

    text = block("architecture.md", "states").text
    states = set(re.findall(r"(\w+) --> (\w+)", text))
    used = {state for pair in states for state in pair}
    assert used == {status.value for status in IssueStatus}


def test_every_diagram_is_mermaid():
    for info, text, _ in fenced_blocks(DOCS / "architecture.md"):
        assert info == "mermaid"
        assert text.split()[0] in ("flowchart", "sequenceDiagram", "stateDiagram-v2", "erDiagram")


# --- the guide's tables, against the code they describe -------------------------------------------------------


def _table(text: str, heading_row: str) -> list[list[str]]:
    lines = text[text.index(heading_row) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_the_default_routing_matrix_is_the_code_s():
    rows = _table(section("guide.md", "Notifications and routing"), "| Severity | Channels |")
    names = {
        "e-mail": "email",
        "SMS": "sms",
        "ntfy": "ntfy",
        "Slack": "slack",
        "PagerDuty": "pagerduty",
        "Apprise": "apprise",
    }
    documented = {row[0]: [names[c.strip()] for c in row[1].split(",")] if row[1] != "none" else [] for row in rows}
    assert documented == {severity.value: [c.value for c in channels] for severity, channels in DEFAULT_MATRIX.items()}


def test_the_level_to_severity_table_is_the_code_s():
    rows = _table(section("guide.md", "Concepts"), "| Level | Severity |")
    documented = {level.strip("` "): row[1] for row in rows for level in row[0].split(",")}
    assert documented == SEVERITY_OF_LEVEL


def test_the_triggers_table_names_every_trigger():
    rows = _table(section("guide.md", "Notifications and routing"), "| Trigger | When |")
    assert {row[0].strip("`") for row in rows} == set(TRIGGERS)


def test_the_search_keys_table_names_every_key():
    from db.issue_query import KEYS

    rows = _table(section("guide.md", "Searching errors"), "| Key | Matches | Values |")
    documented = {key.strip("`: ").lower() for row in rows for key in row[0].split(",")}
    assert documented == set(KEYS)
