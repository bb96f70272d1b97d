"""docs/integrations.md's Ruby and Go sections, run with the official Sentry SDKs as Debian packages them against a
live collector: sentry-ruby 5 (envelopes) and sentry-go 0.11 (an older SDK: errors go to `/api/<id>/store/` as plain
JSON). A small program around each documented block raises an exception with a cause and sends messages; what
errlog holds afterwards is what those SDKs' users see. Skipped where the runtime or the SDK is missing (.ci/run
installs ruby-sentry-ruby, golang-go and golang-github-getsentry-sentry-go-dev)."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.docs.examples import block
from tests.docs.run import run

DOC = "integrations.md"
SENTRY_GO = Path("/usr/share/gocode/src/github.com/getsentry/sentry-go")  # where Debian puts Go sources (GOPATH)


def _has_sentry_ruby() -> bool:
    if shutil.which("ruby") is None:
        return False
    return subprocess.run(["ruby", "-e", 'require "sentry-ruby"'], capture_output=True, check=False).returncode == 0


def the_exception(docs_project: Any, title: str) -> dict[str, Any]:
    """The event of the one error titled `title`."""
    [error] = docs_project.errors(f'"{title}"')
    assert error["title"] == title
    [summary] = docs_project.events(error["id"])
    event: dict[str, Any] = docs_project.event(summary["event_id"])
    event["user_key"] = summary["user_key"]
    return event


def chain(event: dict[str, Any]) -> list[tuple[str, str]]:
    return [(value["type"], value["value"]) for value in event["payload"]["exception"]["values"]]


# --- Ruby ------------------------------------------------------------------------------------------

RUBY_APP = textwrap.dedent(
    """
    Sentry.set_user(id: 42, email: "ann@example.com")
    Sentry.set_tags(region: "eu")

    class PriceNotFound < StandardError; end

    def lookup(sku) = Integer(sku)

    def quote(sku)
      lookup(sku)
    rescue ArgumentError
      raise PriceNotFound, "no price for #{sku}"
    end

    begin
      quote("A-1")
    rescue => e
      Sentry.capture_exception(e)
    end
    [3, 5].each { |n| Sentry.capture_message("cart has #{n} items") }
    """
)


@pytest.mark.skipif(
    not _has_sentry_ruby(), reason="Ruby or sentry-ruby is not installed (apt-get install ruby-sentry-ruby)"
)
def test_sentry_ruby_reports_an_exception_with_its_cause_and_grouped_messages(docs_project, tmp_path):
    (tmp_path / "shop.rb").write_text(docs_project.substitute(block(DOC, "ruby-sentry").text) + RUBY_APP)
    run(["ruby", "shop.rb"], cwd=tmp_path, env=docs_project.environment(APP_RELEASE="shop@3.1.0"))

    errors = docs_project.errors()
    # The two messages differ by a number only: one error, titled by whichever message sentry-ruby's background
    # worker delivered first (its threads send in no fixed order).
    assert sorted((e["title"], e["times_seen"]) for e in errors) in (
        [("PriceNotFound: no price for A-1", 1), ("cart has 3 items", 2)],
        [("PriceNotFound: no price for A-1", 1), ("cart has 5 items", 2)],
    )
    assert {(e["platform"], e["first_release"], e["environment"]) for e in errors} == {
        ("ruby", "shop@3.1.0", "production")
    }
    event = the_exception(docs_project, "PriceNotFound: no price for A-1")
    assert event["source"] == "sentry" and event["payload"]["sdk"]["name"] == "sentry.ruby"
    assert chain(event) == [
        ("ArgumentError", 'invalid value for Integer(): "A-1"'),
        ("PriceNotFound", "no price for A-1"),
    ]
    frames = event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert [frame["function"] for frame in frames][-2:] == ["quote", "rescue in quote"]
    assert (event["user_key"], event["tags"]["region"]) == ("id:42", "eu")


# --- Go --------------------------------------------------------------------------------------------

GO_MAIN = textwrap.dedent(
    """
    package main

    import (
        "os"
        "strconv"
        "time"

        "github.com/getsentry/sentry-go"
    )

    type PriceNotFound struct {
        sku   string
        cause error
    }

    func (e *PriceNotFound) Error() string { return "no price for " + e.sku }
    func (e *PriceNotFound) Unwrap() error { return e.cause }

    func quote(sku string) (int, error) {
        n, err := strconv.Atoi(sku)
        if err != nil {
            return 0, &PriceNotFound{sku: sku, cause: err}
        }
        return n, nil
    }

    func main() {
        initSentry()
        sentry.ConfigureScope(func(scope *sentry.Scope) {
            scope.SetUser(sentry.User{ID: "42"})
            scope.SetTag("region", "eu")
        })
        if _, err := quote("A-1"); err != nil {
            sentry.CaptureException(err)
        }
        sentry.CaptureMessage("cart has 3 items")
        if !sentry.Flush(10 * time.Second) {
            os.Exit(1)
        }
    }
    """
).replace("    ", "\t")


@pytest.mark.skipif(
    shutil.which("go") is None or not SENTRY_GO.is_dir(),
    reason="Go or sentry-go is not installed (apt-get install golang-go golang-github-getsentry-sentry-go-dev)",
)
def test_sentry_go_reports_through_the_store_endpoint(docs_project, tmp_path):
    (tmp_path / "sentry.go").write_text(docs_project.substitute(block(DOC, "go-sentry").text))
    (tmp_path / "main.go").write_text(GO_MAIN)
    # GOPATH mode: the SDK and what it needs come from Debian's sources, nothing is downloaded.
    env = docs_project.environment(
        APP_RELEASE="api@4.0.1", GO111MODULE="off", GOPATH=str(SENTRY_GO.parents[3]), GOCACHE=str(tmp_path / "cache")
    )
    run(["go", "run", "."], cwd=tmp_path, env=env)

    errors = docs_project.errors()
    assert sorted(e["title"] for e in errors) == ["*main.PriceNotFound: no price for A-1", "cart has 3 items"]
    assert {(e["platform"], e["first_release"], e["environment"]) for e in errors} == {
        ("go", "api@4.0.1", "production")
    }
    event = the_exception(docs_project, "*main.PriceNotFound: no price for A-1")
    assert event["source"] == "sentry" and event["payload"]["sdk"]["name"] == "sentry.go"
    # Go's wrapped errors, innermost first, as the SDK unwraps them.
    assert chain(event) == [
        ("*errors.errorString", "invalid syntax"),
        ("*strconv.NumError", 'strconv.Atoi: parsing "A-1": invalid syntax'),
        ("*main.PriceNotFound", "no price for A-1"),
    ]
    assert event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "main"
    assert (event["user_key"], event["tags"]["region"]) == ("id:42", "eu")
