"""Raven, the Sentry client older apps still run (raven-ruby 3, as Debian packages it), against a live collector:
it posts to `/api/<id>/store/` a base64 body of zlib-compressed JSON, with the DSN's secret in `X-Sentry-Auth`.
Skipped where it is not installed (.ci/run installs ruby-sentry-raven)."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

import pytest
from sqlalchemy import select

from db.models import Event, Issue

RAVEN_SCRIPT = textwrap.dedent(
    """
    require "raven"

    Raven.configure do |config|
      config.dsn = ENV.fetch("SENTRY_DSN")
      config.current_environment = "production"
      config.release = "legacy@1.0"
      config.async = false
    end
    Raven.user_context(id: 7)
    begin
      1 / 0
    rescue => e
      Raven.capture_exception(e)
    end
    Raven.capture_message("nightly import skipped 12 rows")
    """
)


def _has_raven() -> bool:
    if shutil.which("ruby") is None:
        return False
    return subprocess.run(["ruby", "-e", 'require "raven"'], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _has_raven(), reason="raven-ruby is not installed (apt-get install ruby-sentry-raven)")
def test_raven_ruby_reports_through_the_store_endpoint(collector, tmp_path):
    _, dsn, _ = collector.create_project()
    key, host = dsn.removeprefix("http://").split("@", 1)
    (tmp_path / "legacy.rb").write_text(RAVEN_SCRIPT)
    done = subprocess.run(
        ["ruby", "legacy.rb"],
        cwd=tmp_path,
        env={**os.environ, "SENTRY_DSN": f"http://{key}:an-old-secret@{host}"},  # old DSNs carry a secret
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "Unable to record event" not in done.stdout + done.stderr, done.stdout + done.stderr

    with collector.session() as session:
        issues = list(session.scalars(select(Issue).order_by(Issue.id)))
        events = list(session.scalars(select(Event).order_by(Event.id)))
    assert [issue.title for issue in issues] == ["ZeroDivisionError: divided by 0", "nightly import skipped 12 rows"]
    assert all(
        (i.platform, i.first_release, i.last_environment) == ("ruby", "legacy@1.0", "production") for i in issues
    )
    assert events[0].payload["sdk"]["name"] == "raven-ruby"
    assert events[0].user_key == "id:7"
