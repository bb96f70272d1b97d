"""The daily summary: who gets it and when, what it says (mail parsed from aiosmtpd, Slack blocks), once a day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from db.enums import IssueStatus, Severity
from errlog.settings import Settings
from tasks.deliver import deliver_notification
from tasks.queue import runtime
from tasks.summary import record_daily_summaries
from tests.db.factories import make_developer, make_event, make_issue, make_project
from tests.tasks.receivers import Inbox, Receiver, start_smtp

# 08:05 UTC: the summary hour in UTC, 09:05 in Berlin, 03:05 in New York.
NOW = dt.datetime(2026, 3, 2, 8, 5, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def smtp(inbox: Inbox) -> Iterator[str]:
    controller = start_smtp(inbox)
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def channels(configure_tasks: Callable[..., Settings], receiver: Receiver, smtp: str) -> Settings:
    return configure_tasks(slack_webhook_url=receiver.url + "/slack", smtp_url=smtp, daily_summary_hour=8)


def run(settings: Settings, now: dt.datetime) -> int:
    with runtime.session() as session:
        due = record_daily_summaries(session, settings, now)
    for notification_id in due:
        deliver_notification(notification_id)
    return len(due)


def seed(session: Session) -> dict[str, int]:
    project = make_project(session, name="checkout")
    new = make_issue(session, project, severity=Severity.CRITICAL, title="KeyError: 'sku'", first_seen=NOW - 3 * HOUR)
    for minutes in (10, 20, 30):
        make_event(session, new, received_at=NOW - 3 * HOUR + dt.timedelta(minutes=minutes))
    old = NOW - dt.timedelta(days=5)
    regressed = make_issue(
        session, project, title="TimeoutError: payment", first_seen=old, is_regression=True, last_seen=NOW - HOUR
    )
    resolved = make_issue(
        session,
        project,
        title="ZeroDivisionError",
        first_seen=NOW - 10 * HOUR,
        acknowledged_at=NOW - 9 * HOUR,  # 60 min to acknowledge
        resolved_at=NOW - 8 * HOUR,  # 120 min to resolve
        status=IssueStatus.RESOLVED,
    )
    low = make_issue(
        session, project, severity=Severity.LOW, title="Deprecation warning", first_seen=old, last_seen=NOW - HOUR
    )
    stale = make_issue(session, project, title="Ancient error", first_seen=old, last_seen=old)
    session.commit()
    return {"new": new.id, "regressed": regressed.id, "resolved": resolved.id, "low": low.id, "stale": stale.id}


def test_subscribers_get_the_summary_at_the_hour_in_their_zone_by_mail_and_slack(
    db_session: Session, channels: Settings, receiver: Receiver, inbox: Inbox
) -> None:
    ids = seed(db_session)
    berlin = make_developer(
        db_session, name="Ana", timezone="Europe/Berlin", channel_preferences={"daily_summary": ["email"]}
    )
    new_york = make_developer(
        db_session, name="Bo", timezone="America/New_York", channel_preferences={"daily_summary": ["email"]}
    )
    make_developer(db_session, name="Cy")  # did not opt in
    db_session.commit()

    # 07:05 UTC is 08:05 in Berlin: Ana's is due; the Slack channel's (UTC) and Bo's (02:05) are not.
    assert run(channels, NOW - HOUR) == 1
    (mail,) = inbox.messages()
    assert mail["To"] == berlin.email
    assert mail["X-Errlog-Notice"] == "daily_summary"
    assert (
        mail["Subject"] == "[errlog] Daily summary 2026-03-02: 2 new, 1 regressed, 1 resolved"
    )  # one new error was resolved too
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    sections = {part.split("\n")[0]: part for part in text.split("\n\n")}
    assert f"#{ids['new']} [CRITICAL] KeyError: 'sku'" in sections["checkout: new errors (2)"]
    assert "TimeoutError: payment" in sections["checkout: regressed (1)"]
    assert "ZeroDivisionError" in sections["checkout: resolved (1)"]
    assert (
        f"#{ids['new']} [CRITICAL] KeyError: 'sku' (3 events)" in sections["checkout: top errors (events in the 24 h)"]
    )
    # Low severity pages nobody (the routing matrix's "daily summary only"): here is where it shows.
    assert f"#{ids['low']} [LOW] Deprecation warning" in sections["checkout: low severity, in this summary only (1)"]
    assert "checkout: MTTA 60 min over 1 acknowledged, MTTR 2.0 h over 1 resolved" in sections
    assert "Ancient error" not in text
    html = mail.get_body(("html",)).get_content()
    assert "<h3>checkout: new errors (2)</h3>" in html and "KeyError: &#x27;sku&#x27;" in html

    # 08:05 UTC: the team's Slack channel gets its copy; Ana does not get a second one.
    assert run(channels, NOW) == 1
    (slack,) = receiver.wait_for(1)
    body = slack.json()
    assert body["text"].startswith("[errlog] Daily summary 2026-03-02")
    assert body["blocks"][0]["type"] == "header"
    texts = [block["text"]["text"] for block in body["blocks"][1:]]
    assert any(t.startswith("*checkout: new errors (2)*") and "KeyError: 'sku'" in t for t in texts)
    assert run(channels, NOW + dt.timedelta(minutes=15)) == 0

    # 08:05 in New York: Bo's turn; the others have theirs for the day.
    assert run(channels, NOW + 5 * HOUR) == 1
    assert [m["To"] for m in inbox.messages()] == [berlin.email, new_york.email]
    assert len(receiver.requests) == 1


def test_nobody_subscribed_and_no_slack_means_no_summary(
    db_session: Session, configure_tasks: Callable[..., Settings], smtp: str
) -> None:
    settings = configure_tasks(smtp_url=smtp)
    seed(db_session)
    make_developer(db_session, channel_preferences={"critical": ["email"]})
    db_session.commit()
    assert run(settings, NOW) == 0
