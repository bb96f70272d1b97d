"""Devices whose clock is wrong: when the sender says when it sent an event (an envelope's `sent_at`, an old SDK's
`sentry_timestamp`, a webhook's `sent_at`) and that is 55 minutes or more from when it arrived, the event's times are
moved by the difference, as Relay moves them; the real sentry-sdk under `faketime` shows it end to end."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select

from collector.normalize import normalize_sentry_event
from collector.webhooks import WebhookPayloadError, normalize_webhook
from db.models import Event, Issue
from tests.collector.envelopes import auth_header, key_of, make_event

RECEIVED = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)
HOURS_BEHIND = RECEIVED - dt.timedelta(hours=3)  # a phone set to the wrong time zone


def rfc3339(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def crumbs(event: dict) -> list:
    return [crumb.get("timestamp") for crumb in event["breadcrumbs"]["values"]]


def sentry_event(sent_at: object, timestamp: dt.datetime, **fields: object) -> dict:
    raw = make_event(timestamp=rfc3339(timestamp), **fields)
    return normalize_sentry_event(raw, received_at=RECEIVED, sent_at=sent_at)


def test_an_event_from_a_clock_hours_behind_is_moved_to_when_it_happened():
    event = sentry_event(
        rfc3339(HOURS_BEHIND),
        HOURS_BEHIND - dt.timedelta(seconds=2),
        breadcrumbs=[
            {"message": "text", "timestamp": rfc3339(HOURS_BEHIND - dt.timedelta(seconds=10))},
            {"message": "epoch", "timestamp": (HOURS_BEHIND - dt.timedelta(seconds=5)).timestamp()},
            {"message": "no time"},
            {"message": "unreadable", "timestamp": "yesterday"},
        ],
    )
    assert event["timestamp"] == RECEIVED - dt.timedelta(seconds=2)
    assert crumbs(event) == [
        "2026-11-29T11:59:50Z",
        (RECEIVED - dt.timedelta(seconds=5)).timestamp(),
        None,
        "yesterday",
    ]
    assert event["errors"] == [
        {"type": "clock_drift", "sdk_time": "2026-11-29T09:00:00Z", "server_time": "2026-11-29T12:00:00Z"}
    ]


def test_an_event_from_a_clock_a_day_ahead_keeps_its_own_moment():
    ahead = RECEIVED + dt.timedelta(days=1)
    event = sentry_event(
        ahead.timestamp(),  # epoch seconds, as the auth header gives it
        ahead - dt.timedelta(seconds=30),
        breadcrumbs=[{"message": "opened", "timestamp": rfc3339(ahead - dt.timedelta(minutes=1))}],
    )
    # Uncorrected, a day in the future is out of range and would read as the time it arrived.
    assert event["timestamp"] == RECEIVED - dt.timedelta(seconds=30)
    assert crumbs(event) == ["2026-11-29T11:59:00Z"]
    assert event["errors"][0]["sdk_time"] == "2026-11-30T12:00:00Z"


@pytest.mark.parametrize(
    "sent_at",
    [None, rfc3339(RECEIVED - dt.timedelta(minutes=54)), rfc3339(RECEIVED + dt.timedelta(minutes=54)), "soon", {}],
)
def test_a_small_drift_or_no_readable_send_time_leaves_the_times_as_sent(sent_at):
    sent = RECEIVED - dt.timedelta(minutes=54, seconds=3)
    event = sentry_event(sent_at, sent, breadcrumbs=[{"message": "x", "timestamp": rfc3339(sent)}])
    assert event["timestamp"] == sent
    assert crumbs(event) == [rfc3339(sent)]
    assert "errors" not in event


def test_a_time_moved_past_the_calendar_reads_as_the_time_it_arrived():
    raw = make_event(timestamp="9999-12-31T23:59:59Z")
    event = normalize_sentry_event(raw, received_at=RECEIVED, sent_at=rfc3339(RECEIVED - dt.timedelta(days=2)))
    assert event["timestamp"] == RECEIVED


def test_a_webhook_says_when_it_was_sent_in_its_own_units_and_spellings():
    behind_ms = int(HOURS_BEHIND.timestamp() * 1000)  # Date.now() on the phone
    [event] = normalize_webhook(
        "mobile",
        {
            "message": "Null check operator used on a null value",
            "timestamp": behind_ms - 4000,
            "sentAt": behind_ms,
            "breadcrumbs": [{"message": "tap", "timestamp": behind_ms - 9000}],
        },
        received_at=RECEIVED,
    )
    assert event["timestamp"] == RECEIVED - dt.timedelta(seconds=4)
    assert crumbs(event) == [int(RECEIVED.timestamp() * 1000) - 9000]
    assert event["errors"][0]["type"] == "clock_drift"
    with pytest.raises(WebhookPayloadError, match="'sent_at' must be an ISO 8601 string or epoch"):
        normalize_webhook("generic", {"message": "x", "sent_at": "soon"}, received_at=RECEIVED)


# --- over HTTP -------------------------------------------------------------------------------------


def stored(collector) -> tuple[Issue, Event]:
    with collector.session() as session:
        [issue] = session.scalars(select(Issue)).all()
        [event] = session.scalars(select(Event)).all()
        return issue, event


def near_now(moment: dt.datetime, slack: dt.timedelta = dt.timedelta(minutes=2)) -> bool:
    return abs(dt.datetime.now(dt.UTC) - moment) < slack


def test_an_envelope_sent_at_hours_ago_is_stored_at_the_time_it_happened(collector):
    project_id, dsn, _ = collector.create_project()
    behind = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    event = make_event(timestamp=rfc3339(behind - dt.timedelta(seconds=1)))
    body = b"\n".join(
        [
            json.dumps({"event_id": event["event_id"], "sent_at": rfc3339(behind)}).encode(),
            b'{"type":"event"}',
            json.dumps(event).encode(),
        ]
    )
    with collector.client() as client:
        answer = client.post(f"/api/{project_id}/envelope/", content=body, headers=auth_header(key_of(dsn)))
    assert answer.status_code == 200, answer.text
    issue, row = stored(collector)
    assert near_now(row.timestamp) and near_now(issue.last_seen) and near_now(issue.first_seen)
    assert row.payload["errors"][0]["type"] == "clock_drift"


def test_a_store_request_dates_itself_in_its_auth_header(collector):
    project_id, dsn, _ = collector.create_project()
    behind = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    header = auth_header(key_of(dsn))["X-Sentry-Auth"] + f", sentry_timestamp={int(behind.timestamp())}"
    event = make_event(timestamp=behind.timestamp())
    with collector.client() as client:
        answer = client.post(f"/api/{project_id}/store/", json=event, headers={"X-Sentry-Auth": header})
    assert answer.status_code == 200, answer.text
    _, row = stored(collector)
    # Two days back is inside the 30 days kept as sent: without the header's time it would stay two days back.
    assert near_now(row.timestamp)


FAKETIME = shutil.which("faketime")


@pytest.mark.skipif(FAKETIME is None, reason="faketime is not installed (apt-get install faketime)")
@pytest.mark.parametrize("offset", ["-3h", "+2d"])
def test_the_real_sdk_on_a_machine_whose_clock_is_wrong(collector, offset):
    _, dsn, _ = collector.create_project()
    script = textwrap.dedent(
        f"""
        import sentry_sdk
        sentry_sdk.init(dsn={dsn!r}, default_integrations=False)
        sentry_sdk.add_breadcrumb(category="cart", message="added item 7")
        try:
            1 / 0
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush(timeout=10)
        """
    )
    # faketime shifts the monotonic clock by the same offset, which leaves every timeout as long as it was. (With
    # FAKETIME_DONT_FAKE_MONOTONIC=1, sleeps fail with EINVAL and waits ignore notifications: flush took 10 s.)
    result = subprocess.run(
        [FAKETIME, "-f", offset, sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    issue, row = stored(collector)
    [crumb] = row.payload["breadcrumbs"]["values"]
    assert near_now(row.timestamp) and near_now(issue.last_seen)
    assert near_now(parse(crumb["timestamp"]))
    [note] = row.payload["errors"]
    assert note["type"] == "clock_drift" and not near_now(parse(note["sdk_time"]))
