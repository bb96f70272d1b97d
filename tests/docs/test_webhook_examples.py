"""Every documented webhook payload and curl command, sent byte for byte to a live collector, and the error each one
then shows through the REST API: docs/webhooks.md's examples per kind, and docs/integrations.md's curl examples."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.docs.examples import DOCS, block, fenced_blocks, section
from tests.docs.run import run

KINDS = ("laravel", "java", "frontend", "mobile", "generic")
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def payloads(kind: str) -> list[str]:
    """The JSON blocks of the `## <kind>` section of docs/webhooks.md, as written."""
    found = re.findall(r"^```json\n(.*?)\n```$", section("webhooks.md", kind), re.M | re.S)
    assert found, f"docs/webhooks.md documents no payload for {kind}"
    return found


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)\n```$", text, re.M | re.S)


@pytest.mark.parametrize("kind", KINDS)
def test_each_documented_payload_is_stored_as_its_kind_says(docs_project, kind):
    for body in payloads(kind):
        with docs_project.client() as client:
            answer = client.post(
                f"/api/error-logging/webhook/{kind}/",
                content=body.encode(),
                headers={"Authorization": f"Bearer {docs_project.webhook_token}", "Content-Type": "application/json"},
            )
        assert answer.status_code == 200, answer.text
        [event_id] = answer.json()["ids"]
        event = docs_project.event(event_id)
        assert event["source"] == f"webhook:{kind}"
        sent = json.loads(body)
        [error] = [e for e in docs_project.errors() if e["id"] == event["issue_id"]]
        expected_message = sent.get("message") if kind in ("laravel", "java", "generic") else None
        if expected_message:
            assert expected_message in error["title"]
        if "environment" in sent:
            assert error["environment"] == sent["environment"]


def test_the_documented_java_payload_keeps_its_cause_and_splits_the_class(docs_project):
    [body] = payloads("java")
    with docs_project.client() as client:
        answer = client.post(
            "/api/error-logging/webhook/java/", content=body, headers={"X-Errlog-Token": docs_project.webhook_token}
        )
    [event_id] = answer.json()["ids"]
    values = docs_project.event(event_id)["payload"]["exception"]["values"]
    assert [(v["module"], v["type"]) for v in values] == [
        ("java.sql", "SQLException"),
        ("java.lang", "IllegalStateException"),
    ]
    [error] = docs_project.errors("IllegalStateException")
    assert error["title"] == "IllegalStateException: Order 42 cannot be shipped"


@needs_curl
def test_the_curl_commands_of_the_webhook_reference_store_their_event(docs_project, tmp_path):
    commands = shell_blocks(section("webhooks.md", "generic"))
    assert commands, "docs/webhooks.md's generic section shows no curl command"
    for command in commands:
        output = run(["bash", "-c", docs_project.substitute(command)], cwd=tmp_path, env=docs_project.environment())
        assert '"ids"' in output
    [error] = docs_project.errors('"nightly export failed"')
    assert error["severity"] == "medium"


@needs_curl
def test_the_curl_example_stores_a_medium_error_for_the_job(docs_project, tmp_path):
    command = docs_project.substitute(block("integrations.md", "curl-generic").text)
    output = run(["bash", "-c", command], cwd=tmp_path, env=docs_project.environment())
    [event_id] = json.loads(output.split("--- stdout\n", 1)[1].split("\n--- stderr", 1)[0])["ids"]
    [error] = docs_project.errors('"nightly backup failed"')
    assert error["severity"] == "medium" and error["title"] == "nightly backup failed: disk full"
    event = docs_project.event(event_id)
    assert event["tags"] == {"job": "backup", "source": "webhook:generic"}


@needs_curl
def test_the_failure_wrapper_reports_a_failing_job_and_passes_its_status_on(docs_project, tmp_path):
    script = tmp_path / "report-failure"
    script.write_text(docs_project.substitute(block("integrations.md", "curl-wrapper").text))
    env = docs_project.environment()
    run(["sh", str(script), "nightly-ok", "true"], cwd=tmp_path, env=env)
    failing = ["sh", "-c", 'echo "wrote 3 files"; echo "disk \\"backup\\" is full" >&2; exit 3']
    run(["sh", str(script), "nightly-export", *failing], cwd=tmp_path, env=env, expect=3)

    [error] = docs_project.errors("JobFailed")
    assert error["title"] == "JobFailed: nightly-export exited with status 3"
    [summary] = docs_project.events(error["id"])
    event = docs_project.event(summary["event_id"])
    assert event["payload"]["extra"]["output"] == 'wrote 3 files\ndisk "backup" is full'
    assert event["tags"]["job"] == "nightly-export"
    assert docs_project.errors("nightly-ok") == []


def test_every_shell_block_of_the_integration_guide_is_checked():
    # A curl command added to the guide without a check marker would go untested: each one must carry one.
    for info, text, line in fenced_blocks(DOCS / "integrations.md"):
        if info == "sh" and "curl " in text:
            checked = [b for b in ("curl-generic", "curl-wrapper") if block("integrations.md", b).text == text]
            assert checked, f"docs/integrations.md:{line}: a curl command without a test"
