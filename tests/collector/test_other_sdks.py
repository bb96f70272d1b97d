"""Official Sentry SDKs of other languages, as Debian packages them, pointed at a live collector: sentry-ruby 5
(envelopes) and sentry-go 0.11 (an older SDK: errors go to `/api/<id>/store/` as plain JSON). What errlog holds
afterwards is what those SDKs' users would see. Skipped where the runtime or the SDK is missing (.ci/run installs
both: ruby-sentry-ruby, golang-github-getsentry-sentry-go-dev)."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.models import Event, Issue

SENTRY_GO = Path("/usr/share/gocode/src/github.com/getsentry/sentry-go")  # where Debian puts Go sources (GOPATH)


def stored(collector: Any) -> tuple[list[Issue], list[Event]]:
    with collector.session() as session:
        issues = list(session.scalars(select(Issue).order_by(Issue.id)))
        events = list(session.scalars(select(Event).order_by(Event.id)))
        return issues, events


def run(command: list[str], cwd: Path, **env: str) -> str:
    done = subprocess.run(
        command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def chain(event: Event) -> list[tuple[str, str]]:
    return [(value["type"], value["value"]) for value in event.payload["exception"]["values"]]


# --- Ruby ------------------------------------------------------------------------------------------

RUBY_SCRIPT = textwrap.dedent(
    """
    require "sentry-ruby"

    Sentry.init do |config|
      config.dsn = ENV.fetch("SENTRY_DSN")
      config.release = "shop@3.1.0"
      config.environment = "production"
      config.background_worker_threads = 0  # send before returning, so the script can end at once
    end
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


def _has_sentry_ruby() -> bool:
    if shutil.which("ruby") is None:
        return False
    return subprocess.run(["ruby", "-e", 'require "sentry-ruby"'], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(
    not _has_sentry_ruby(), reason="Ruby or sentry-ruby is not installed (apt-get install ruby-sentry-ruby)"
)
def test_sentry_ruby_reports_an_exception_with_its_cause_and_grouped_messages(collector, tmp_path):
    _, dsn, _ = collector.create_project()
    (tmp_path / "shop.rb").write_text(RUBY_SCRIPT)
    run(["ruby", "shop.rb"], tmp_path, SENTRY_DSN=dsn)

    issues, events = stored(collector)
    assert [issue.title for issue in issues] == ["PriceNotFound: no price for A-1", "cart has 3 items"]
    assert [issue.times_seen for issue in issues] == [1, 2]  # the two messages differ by a number only
    assert all(issue.platform == "ruby" and issue.first_release == "shop@3.1.0" for issue in issues)
    exception = events[0]
    assert exception.payload["sdk"]["name"] == "sentry.ruby"
    assert chain(exception) == [
        ("ArgumentError", 'invalid value for Integer(): "A-1"'),
        ("PriceNotFound", "no price for A-1"),
    ]
    assert [frame["function"] for frame in exception.payload["exception"]["values"][-1]["stacktrace"]["frames"]][
        -2:
    ] == ["quote", "rescue in quote"]
    assert (exception.user_key, exception.environment, exception.tags["region"]) == ("id:42", "production", "eu")


# --- Go --------------------------------------------------------------------------------------------

GO_PROGRAM = textwrap.dedent(
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
        options := sentry.ClientOptions{Dsn: os.Getenv("SENTRY_DSN"), Release: "shop@4.0.1", Environment: "production"}
        if err := sentry.Init(options); err != nil {
            panic(err)
        }
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
def test_sentry_go_reports_through_the_store_endpoint(collector, tmp_path):
    _, dsn, _ = collector.create_project()
    (tmp_path / "main.go").write_text(GO_PROGRAM)
    # GOPATH mode: the SDK and what it needs come from Debian's sources, nothing is downloaded.
    gopath = {"GO111MODULE": "off", "GOPATH": str(SENTRY_GO.parents[3]), "GOCACHE": str(tmp_path / "cache")}
    run(["go", "run", "main.go"], tmp_path, SENTRY_DSN=dsn, **gopath)

    issues, events = stored(collector)
    assert [issue.title for issue in issues] == ["*main.PriceNotFound: no price for A-1", "cart has 3 items"]
    assert all(issue.platform == "go" and issue.first_release == "shop@4.0.1" for issue in issues)
    exception = events[0]
    assert exception.payload["sdk"]["name"] == "sentry.go"
    # Go's wrapped errors, innermost first, as the SDK unwraps them.
    assert chain(exception) == [
        ("*errors.errorString", "invalid syntax"),
        ("*strconv.NumError", 'strconv.Atoi: parsing "A-1": invalid syntax'),
        ("*main.PriceNotFound", "no price for A-1"),
    ]
    assert exception.payload["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "main"
    assert (exception.user_key, exception.environment, exception.tags["region"]) == ("id:42", "production", "eu")
