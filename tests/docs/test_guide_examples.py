"""docs/guide.md's examples: searches run against the live API, the curl query, the signature check, the scrubbing
settings, and every troubleshooting message reproduced (or, where it cannot be provoked here, found in the code)."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from collector.scrub import ScrubRules, scrub_event
from db.issue_query import parse
from errlog.settings import load_settings
from tasks.channels.webhook import signature
from tests.docs.conftest import DocsProject
from tests.docs.examples import ROOT, block, checked_table, code_spans
from tests.docs.run import run

DOC = "guide.md"


def query_examples() -> list[str]:
    return [code_spans(row[0])[0] for row in checked_table(DOC, "query-examples")]


def test_every_search_example_parses():
    examples = query_examples()
    assert len(examples) >= 8
    for query in examples:
        assert parse(query), query


def test_every_search_example_runs_against_the_api(docs_project):
    with docs_project.api.as_role(_admin_role()) as client:
        developer = client.post("/developers/", json={"name": "Ana Lima", "email": "ana@example.com"})
    assert developer.status_code in (200, 201), developer.text
    token = docs_project.api.token("ana", _responder_role(), developer.json()["id"])
    with docs_project.client() as client:
        for query in query_examples():
            answer = client.get("/api/error-logging/errors/", params={"q": query}, headers=_bearer(token))
            assert answer.status_code == 200, f"{query}: {answer.text}"


def test_a_search_finds_what_the_table_says(docs_project):
    with docs_project.client() as client:
        for message, level in (("checkout crashed", "fatal"), ("slow cart", "warning")):
            client.post(
                "/api/error-logging/webhook/generic/",
                json={"message": message, "level": level, "environment": "production"},
                headers={"X-Errlog-Token": docs_project.webhook_token},
            )
    assert [e["title"] for e in docs_project.errors("is:unresolved level:critical")] == ["checkout crashed"]
    assert {e["title"] for e in docs_project.errors("is:unresolved !assigned service:shop,payments")} == {
        "checkout crashed",
        "slow cart",
    }


def test_the_query_error_shown_is_what_the_api_answers(docs_project):
    with docs_project.api.as_role(_viewer_role()) as viewer:
        answer = viewer.get("/errors/", params={"q": "is:unresolved level:urgent"})
    assert answer.status_code == 400
    assert answer.json()["detail"] == block(DOC, "query-error").text


@pytest.mark.skipif(sys.platform == "win32", reason="bash")
def test_the_curl_search_lists_open_critical_errors(docs_project, tmp_path):
    with docs_project.client() as client:
        client.post(
            "/api/error-logging/webhook/generic/",
            json={"message": "payment provider down", "severity": "critical"},
            headers={"X-Errlog-Token": docs_project.webhook_token},
        )
    command = docs_project.substitute(block(DOC, "query-curl").text)
    output = run(["bash", "-c", command], cwd=tmp_path, env=docs_project.environment())
    listing = json.loads(output.split("--- stdout\n", 1)[1].split("\n--- stderr", 1)[0])
    assert [item["title"] for item in listing["items"]] == ["payment provider down"]


def test_the_signature_check_accepts_errlogs_signature_and_refuses_tampering_and_replays():
    namespace: dict[str, Any] = {}
    exec(block(DOC, "webhook-signature").text, namespace)
    check: Callable[..., bool] = namespace["errlog_signature_ok"]
    body = b'{"type":"errlog.alert","version":1}'
    now = str(int(time.time()))
    headers = {"X-Errlog-Timestamp": now, "X-Errlog-Signature": signature("s3cret", now, body)}
    assert check("s3cret", headers, body)
    assert not check("s3cret", headers, body + b" ")
    assert not check("other", headers, body)
    old = str(int(time.time()) - 3600)
    assert not check("s3cret", {"X-Errlog-Timestamp": old, "X-Errlog-Signature": signature("s3cret", old, body)}, body)
    assert not check("s3cret", {}, body)


def test_the_scrubbing_settings_do_what_the_guide_says(monkeypatch):
    for assignment in shlex.split(block(DOC, "scrub-settings").text, comments=True):
        name, _, value = assignment.partition("=")
        monkeypatch.setenv(name, value)
    settings = load_settings()
    rules = ScrubRules.from_settings(
        settings.scrub_extra_keys, settings.scrub_extra_patterns, safe_fields=settings.scrub_safe_fields
    )
    before, after = re.findall(r"With these, `(\{.*?\})` is stored as\n`(\{.*?\})`", (ROOT / "docs" / DOC).read_text())[
        0
    ]
    assert scrub_event({"extra": json.loads(before)}, rules)["extra"] == json.loads(after)
    assert scrub_event({"extra": {"X-Tenant-Key": "k"}}, rules)["extra"] == {"X-Tenant-Key": "[Filtered]"}
    # Without the safe field, the built-in rules would have taken it.
    assert scrub_event({"extra": {"oauth_provider": "github"}})["extra"] == {"oauth_provider": "[Filtered]"}


# --- troubleshooting: each message of the table, reproduced -----------------------------------------------------


def messages() -> list[tuple[str | None, str]]:
    """(status or None, message) of each troubleshooting row."""
    rows = []
    for row in checked_table(DOC, "messages"):
        spans = code_spans(row[0])
        status = spans[0] if len(spans) == 2 and spans[0].isdigit() else None
        rows.append((status, spans[-1]))
    return rows


def pattern(message: str) -> re.Pattern[str]:
    """The documented message as a regular expression: <placeholders> and "..." stand for any text."""
    parts = re.split(r"(<[^>]+>|\.\.\.)", message)
    return re.compile("".join(".+?" if p.startswith("<") else ".*" if p == "..." else re.escape(p) for p in parts))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _viewer_role() -> Any:
    from db.enums import Role

    return Role.VIEWER


def _admin_role() -> Any:
    from db.enums import Role

    return Role.ADMIN


def _responder_role() -> Any:
    from db.enums import Role

    return Role.RESPONDER


def _webhook(p: DocsProject, body: Any = None, kind: str = "generic", **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", {"X-Errlog-Token": p.webhook_token})
    with p.client() as client:
        return client.post(f"/api/error-logging/webhook/{kind}/", json=body, headers=headers, **kwargs)


def _store(p: DocsProject, project_id: int, key: str | None, event: dict[str, Any] | None = None) -> Any:
    headers = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}"} if key else {}
    with p.client() as client:
        return client.post(f"/api/{project_id}/store/", json=event or {"message": "x"}, headers=headers)


def _sdk_key(p: DocsProject) -> str:
    return p.dsn.split("//")[1].split("@")[0]


def _error_id(p: DocsProject) -> int:
    answer = _webhook(p, {"message": f"troubleshooting {time.monotonic_ns()}"})
    return int(p.event(answer.json()["ids"][0])["issue_id"])


def _api(p: DocsProject, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = _bearer(token) if token else {}
    with p.client() as client:
        return client.request(method, f"/api/error-logging{path}", headers=headers, **kwargs)


def _acknowledge_resolved(p: DocsProject) -> Any:
    error_id = _error_id(p)
    token = p.api.tokens[_responder_role()]
    assert _api(p, "POST", f"/errors/{error_id}/resolve/", token, json={}).status_code == 200
    return _api(p, "POST", f"/errors/{error_id}/acknowledge/", token)


def _escalate_nobody(p: DocsProject) -> Any:
    return _api(p, "POST", f"/errors/{_error_id(p)}/escalate/", p.api.tokens[_responder_role()], json={"reason": "db"})


def _other_project(p: DocsProject) -> Any:
    other_id, _, _ = p.api.collector.create_project("payments")
    return _store(p, other_id, _sdk_key(p))


def _check_in_unknown(p: DocsProject) -> Any:
    with p.client() as client:
        return client.get(f"/api/{p.project_id}/cron/never-created/{_sdk_key(p)}/", params={"status": "ok"})


REPRODUCE: dict[str, Callable[[DocsProject], Any]] = {
    "unknown or revoked DSN key": lambda p: _store(p, p.project_id, "0" * 32),
    "unknown or revoked webhook token": lambda p: _webhook(p, {"message": "x"}, headers={"X-Errlog-Token": "elw_no"}),
    "this key belongs to another project than <id>": _other_project,
    "missing an ingest key": lambda p: _store(p, p.project_id, None),
    "missing webhook token": lambda p: _webhook(p, {"message": "x"}, headers={}),
    "unknown webhook kind": lambda p: _webhook(p, {"message": "x"}, kind="cobol"),
    "item <n>: '<field>' must be a string": lambda p: _webhook(p, [{"message": "ok"}, {"message": 5}]),
    "event.<field>: must be <what>": lambda p: _store(p, p.project_id, _sdk_key(p), {"message": "x", "user": "ann"}),
    "request body exceeds <n> bytes": lambda p: _webhook(p, content=b"x" * (20 * 1024 * 1024 + 1)),
    "a batch holds at most 100 items": lambda p: _webhook(p, [{"message": "x"}] * 101),
    "unsupported content encoding": lambda p: _webhook(
        p, content=gzip.compress(b"{}"), headers={"X-Errlog-Token": p.webhook_token, "Content-Encoding": "zstd"}
    ),
    "missing API token": lambda p: _api(p, "GET", "/errors/"),
    "unknown or revoked API token": lambda p: _api(p, "GET", "/errors/", "elg_wrong"),
    "this endpoint needs the <role> role": lambda p: _api(p, "PATCH", "/projects/1/", p.api.tokens[_viewer_role()]),
    "invalid search at position": lambda p: _api(
        p, "GET", "/errors/", p.api.tokens[_viewer_role()], params={"q": "x:"}
    ),
    "error <id> is resolved": _acknowledge_resolved,
    "no level <n> on-call": _escalate_nobody,
    "project <id> has no heartbeat": _check_in_unknown,
}

# Messages that need a broken server or database to provoke: found in the code instead, piece by piece.
IN_CODE = (
    "storage is unavailable, retry later",
    "the collector is overloaded, retry later",
    "the collector is reading too many large bodies at once",  # tests/collector/test_ingest_http.py
    "storage is slow to answer, retry later",
    "errlog: error: the database schema is at revision",
    "maintenance window #",  # tests/tasks/test_maintenance.py
    "ERRLOG_APPRISE_URLS is set but apprise is not installed",  # tests/tasks/channels/test_apprise.py
)


# Messages with a test of their own below (they need the collector started with other settings).
OWN_TEST = ("rate limit of the",)


def _reproducer(message: str) -> Callable[[DocsProject], Any] | None:
    return next((make for start, make in REPRODUCE.items() if message.startswith(start)), None)


def test_every_troubleshooting_row_is_reproduced_or_found_in_the_code():
    for _, message in messages():
        covered = _reproducer(message) or message.startswith((*IN_CODE, *OWN_TEST, "errlog: error:"))
        assert covered, f"no proof for the troubleshooting message {message!r}"


def test_ingest_and_api_messages_are_what_the_collector_answers(docs_project):
    checked = 0
    for status, message in messages():
        make = _reproducer(message)
        if make is None:
            continue
        answer = make(docs_project)
        assert str(answer.status_code) == status, f"{message}: {answer.status_code} {answer.text}"
        assert pattern(message).fullmatch(answer.json()["detail"]), f"{message!r} != {answer.json()['detail']!r}"
        checked += 1
    assert checked == len(REPRODUCE)


def test_the_rate_limit_message_is_what_the_collector_answers(collector_settings, request):
    collector_settings["rate_limit_per_key"] = 1
    project: DocsProject = request.getfixturevalue("docs_project")
    [(status, message)] = [row for row in messages() if row[1].startswith("rate limit of the")]
    assert _webhook(project, {"message": "first"}).status_code == 200
    answer = _webhook(project, {"message": "second"})
    assert str(answer.status_code) == status and pattern(message).fullmatch(answer.json()["detail"])
    assert int(answer.headers["Retry-After"]) >= 1 and answer.headers["X-Sentry-Rate-Limits"].endswith(":key")


def _source() -> str:
    return "\n".join(
        path.read_text() for part in ("collector", "db", "errlog", "tasks") for path in (ROOT / part).rglob("*.py")
    )


def test_messages_that_need_a_broken_server_are_in_the_code():
    source = _source()
    for _, message in messages():
        if not message.startswith(IN_CODE):
            continue
        literal = message.removeprefix("errlog: error: ")
        for piece in re.split(r"<[^>]+>|\.\.\.", literal):
            assert piece.strip() in source, f"{piece!r} of {message!r} is not in the code"


@pytest.mark.parametrize(
    ("start", "environment", "command"),
    [
        ("errlog: error: invalid configuration", {"ERRLOG_PUBLIC_URL": "errlog.example.com"}, ["config"]),
        ("errlog: error: cannot read config file", {"ERRLOG_CONFIG": "BROKEN"}, ["config"]),
        (
            "errlog: error: cannot use database",
            {"ERRLOG_DATABASE_URL": "postgresql+psycopg://errlog@127.0.0.1:9/errlog"},
            ["project", "list"],
        ),
        ("errlog: error: cannot use the task queue", {"ERRLOG_REDIS_URL": "redis://127.0.0.1:9/0"}, ["worker"]),
    ],
)
def test_command_line_messages_are_what_errlog_prints(start, environment, command, tmp_path, monkeypatch):
    [(_, message)] = [row for row in messages() if row[1].startswith(start)]
    broken = tmp_path / "broken.toml"
    broken.write_text("retention_days = \n")
    for name, value in environment.items():
        monkeypatch.setenv(name, str(broken) if value == "BROKEN" else value)
    result = subprocess.run(
        [sys.executable, "-m", "errlog.cli", *command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert pattern(message).fullmatch(result.stderr.strip()), f"{message!r} != {result.stderr.strip()!r}"


def test_a_correct_signature_is_what_errlogs_sender_makes():
    # The receiver in the guide and the sender in tasks/channels/webhook.py must agree on the signed bytes.
    body, timestamp = b"{}", "1700000000"
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature("k", timestamp, body) == expected


def test_the_oncall_commands_are_valid_commands_in_order(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from errlog.cli import main

    monkeypatch.setenv("ERRLOG_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    for line in _command_lines(block(DOC, "oncall-commands").text):
        result = runner.invoke(main, shlex.split(line)[1:], prog_name="errlog")
        assert result.exit_code == 0, f"{line}\n{result.output}"
    shown = runner.invoke(main, ["oncall", "show"]).output
    assert "ana@example.com, ben@example.com" in shown  # the rotation, in turn order


def test_the_project_settings_commands_set_what_they_say(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from errlog.cli import main

    monkeypatch.setenv("ERRLOG_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    for line in _command_lines(block(DOC, "oncall-commands").text)[:3]:  # the developers and the team
        assert runner.invoke(main, shlex.split(line)[1:]).exit_code == 0, line
    results = [
        runner.invoke(main, shlex.split(line)[1:]) for line in _command_lines(block(DOC, "project-settings").text)
    ]
    assert [result.exit_code for result in results] == [0, 0, 0], [result.output for result in results]
    shown = dict(line.strip().split("  ", 1) for line in results[-1].output.splitlines() if line.startswith("  "))
    assert {key: value.strip() for key, value in shown.items()} | {"dsn": "-"} == {
        "project": "shop (id 1)",
        "platform": "python",
        "team": "checkout",
        "fallback developer": "ana@example.com",
        "alert threshold": "100 events in 5 min",
        "max events/minute": "-",
        "alert environments": "production",
        "routing": "critical=sms,slack,pagerduty; medium=(nobody)",
        "webhook url": "-",
        "scrub ip addresses": "no",
        "scrub e-mails": "yes",
        "grouping": "v2",
        "dsn": "-",
    }


def _command_lines(text: str) -> list[str]:
    """Shell lines with backslash continuations joined."""
    return [line for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_guide_links_to_the_other_docs_that_exist():
    text = (ROOT / "docs" / DOC).read_text()
    for target in re.findall(r"\]\(([\w.-]+\.md)(?:#[\w-]+)?\)", text):
        assert (ROOT / "docs" / target).exists() or target == "api.md", target
