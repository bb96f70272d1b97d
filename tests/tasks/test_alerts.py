"""The alert task end to end on the test database: recipients, channels, idempotency, cool-down, suppression."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel, IssueStatus, NotificationStatus, Severity
from db.models import Developer, Issue, Notification, Project
from db.oncall import create_rotation
from db.types import utcnow
from errlog.settings import Settings
from tasks.alerts import AlertError, alert_issue, record_alert
from tasks.deliver import deliver_notification
from tasks.messages import AlertMessage
from tasks.queue import runtime
from tests.db.factories import make_developer, make_event, make_issue, make_project
from tests.tasks.receivers import Inbox, Receiver, start_smtp

STACK = {
    "exception": {
        "values": [
            {
                "type": "KeyError",
                "value": "'sku'",
                "stacktrace": {
                    "frames": [
                        {"filename": "django/core.py", "lineno": 3, "function": "dispatch", "in_app": False},
                        {
                            "filename": "cart/views.py",
                            "lineno": 42,
                            "function": "add_item",
                            "in_app": True,
                            "context_line": "price = PRICES[sku]",
                        },
                    ]
                },
            }
        ]
    }
}

# Where each stand-in service's requests arrive on the one receiver.
SERVICE_OF_PATH = {
    "/company-hook": "webhook",
    "/slack": "slack",
    "/ntfy/": "ntfy",
    "/pd/v2/enqueue": "pagerduty",
    "/twilio/2010-04-01/Accounts/AC1/Messages.json": "sms",
    "/pushover/1/messages.json": "pushover",
}


@pytest.fixture
def smtp(inbox: Inbox) -> Iterator[str]:
    controller = start_smtp(inbox)
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def every_channel(configure_tasks: Callable[..., Settings], receiver: Receiver, smtp: str) -> Settings:
    return configure_tasks(
        webhook_url=receiver.url + "/company-hook",
        webhook_secret="whsec",
        slack_webhook_url=receiver.url + "/slack",
        ntfy_url=receiver.url + "/ntfy",
        pagerduty_url=receiver.url + "/pd",
        pagerduty_routing_key="R0UT1NG",
        twilio_base_url=receiver.url + "/twilio",
        twilio_account_sid="AC1",
        twilio_auth_token="tw",
        twilio_from="+15005550006",
        pushover_url=receiver.url + "/pushover",
        pushover_token="po",
        smtp_url=smtp,
    )


def services(receiver: Receiver) -> list[str]:
    return sorted(SERVICE_OF_PATH[request.path] for request in receiver.requests)


def notifications(session: Session, **where: Any) -> list[Notification]:
    session.commit()  # end the snapshot: see what the task committed
    session.expire_all()
    query = select(Notification).filter_by(**where).order_by(Notification.id)
    return list(session.scalars(query))


def make_alertable(
    session: Session, *, severity: Severity = Severity.CRITICAL, environment: str = "production", **dev: Any
) -> tuple[Project, Issue, Developer, str]:
    project = make_project(session, name="checkout")
    developer = make_developer(
        session,
        name="Ana",
        phone="+4915123456789",
        ntfy_topic="ana-pager",
        slack_id="U024BE7LH",
        pushover_user_key="uKEY",
        **dev,
    )
    issue = make_issue(
        session, project, severity=severity, assignee_id=developer.id, title="KeyError: 'sku'", times_seen=3
    )
    event = make_event(session, issue, environment=environment, payload=STACK)
    session.commit()
    return project, issue, developer, event.event_id


def test_a_critical_alert_reaches_every_channel_once(
    db_session: Session, every_channel: Settings, receiver: Receiver, inbox: Inbox
) -> None:
    _, issue, developer, event_id = make_alertable(db_session)
    alert_issue(issue.id, "new", event_id)

    # Pushover is configured too, but the default matrix pushes through ntfy; a preference can choose Pushover.
    assert services(receiver) == ["ntfy", "pagerduty", "slack", "sms", "webhook"]
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [[developer.email]]
    rows = notifications(db_session)
    assert sorted(row.channel for row in rows) == sorted(
        [Channel.NTFY, Channel.PAGERDUTY, Channel.SLACK, Channel.SMS, Channel.EMAIL, Channel.WEBHOOK]
    )
    assert {row.status for row in rows} == {NotificationStatus.SENT}
    assert {row.attempts for row in rows} == {1}
    assert all(row.trigger == "new" and row.issue_id == issue.id for row in rows)
    by_channel = {row.channel: row for row in rows}
    assert by_channel[Channel.WEBHOOK].developer_id is None  # an integration, not a person
    assert by_channel[Channel.SMS].developer_id == developer.id
    assert by_channel[Channel.SMS].target == "+4915123456789"

    # The message was built from the triggering event: its environment and in-app frames.
    message = AlertMessage.from_payload(by_channel[Channel.EMAIL].payload or {})
    assert message.environment == "production" and message.event_id == event_id
    assert message.frames == (("cart/views.py:42 in add_item", "price = PRICES[sku]"),)


def test_running_the_task_twice_creates_and_sends_nothing_more(
    db_session: Session, every_channel: Settings, receiver: Receiver, inbox: Inbox
) -> None:
    _, issue, _, event_id = make_alertable(db_session, severity=Severity.HIGH)
    alert_issue(issue.id, "new", event_id)
    first = [(row.id, row.idempotency_key) for row in notifications(db_session)]
    sent = len(receiver.requests), len(inbox.envelopes)

    alert_issue(issue.id, "new", event_id)
    assert [(row.id, row.idempotency_key) for row in notifications(db_session)] == first
    assert (len(receiver.requests), len(inbox.envelopes)) == sent == (3, 1)  # ntfy, slack, webhook + e-mail


def test_rows_a_crashed_run_left_pending_are_sent_by_the_next_run(
    db_session: Session, every_channel: Settings, receiver: Receiver
) -> None:
    _, issue, _, event_id = make_alertable(db_session, severity=Severity.MEDIUM)
    # The first run committed its rows, then died before handing them to delivery.
    with runtime.session() as session:
        pending = record_alert(session, every_channel, issue.id, "new", event_id, now=utcnow())
    assert len(pending) == 2 and receiver.requests == []  # slack and the webhook

    alert_issue(issue.id, "new", event_id)
    assert services(receiver) == ["slack", "webhook"]
    # And a third run, or a stray duplicate delivery task, sends nothing again.
    alert_issue(issue.id, "new", event_id)
    for notification_id in pending:
        deliver_notification(notification_id)
    assert len(receiver.requests) == 2


def test_the_recipient_is_the_assignee_else_on_call_else_fallback(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(ntfy_url=receiver.url)
    project = make_project(db_session)
    assignee = make_developer(db_session, ntfy_topic="assignee-topic")
    on_call = make_developer(db_session, ntfy_topic="oncall-topic")
    fallback = make_developer(db_session, ntfy_topic="fallback-topic")
    project.fallback_developer_id = fallback.id
    db_session.commit()

    def alerted_topic() -> str:
        issue = make_issue(db_session, project, severity=Severity.HIGH, assignee_id=assignee_id)
        event = make_event(db_session, issue)
        db_session.commit()
        before = len(receiver.requests)
        alert_issue(issue.id, "new", event.event_id)
        (request,) = receiver.requests[before:]
        return str(request.json()["topic"])

    assignee_id: int | None = None
    assert alerted_topic() == "fallback-topic"  # nobody assigned, nobody on call

    create_rotation(
        db_session,
        schedule_name="checkout primary",
        project_id=project.id,
        participant_ids=[on_call.id],
        start_date=dt.date.today() - dt.timedelta(days=2),
        handoff_time=dt.time(9, 0),
        timezone="UTC",
        shift_hours=24,
    )
    db_session.commit()
    assert alerted_topic() == "oncall-topic"

    assignee_id = assignee.id
    assert alerted_topic() == "assignee-topic"

    assignee.is_active = False  # gone from the company: the page goes to whoever is on call
    db_session.commit()
    assert alerted_topic() == "oncall-topic"


def test_environment_filter_stops_the_alert(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook", slack_webhook_url=receiver.url + "/slack")
    project, issue, _, staging_event = make_alertable(db_session, environment="staging")
    project.alert_environments = ["production"]
    production_event = make_event(db_session, issue, environment="production")
    db_session.commit()

    alert_issue(issue.id, "new", staging_event)
    assert notifications(db_session) == [] and receiver.requests == []
    alert_issue(issue.id, "regression", production_event.event_id)
    assert services(receiver) == ["slack", "webhook"]


def test_project_routing_and_webhook(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(ntfy_url=receiver.url + "/ntfy", slack_webhook_url=receiver.url + "/slack")
    project, issue, _, event_id = make_alertable(db_session, severity=Severity.CRITICAL)
    project.routing = {"critical": ["slack"]}
    project.webhook_url = receiver.url + "/company-hook"  # the project's own integration
    db_session.commit()
    alert_issue(issue.id, "new", event_id)
    assert services(receiver) == ["slack", "webhook"]
    (hook,) = notifications(db_session, channel=Channel.WEBHOOK)
    assert hook.target == receiver.url + "/company-hook"


def test_quiet_hours_hold_back_personal_channels_visibly_but_not_critical(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(ntfy_url=receiver.url + "/ntfy", slack_webhook_url=receiver.url + "/slack")
    now = utcnow()
    _, issue, developer, event_id = make_alertable(
        db_session,
        severity=Severity.HIGH,
        quiet_hours_start=(now - dt.timedelta(hours=1)).time().replace(microsecond=0),
        quiet_hours_end=(now + dt.timedelta(hours=1)).time().replace(microsecond=0),
    )
    alert_issue(issue.id, "new", event_id)
    assert services(receiver) == ["slack"]
    (push,) = notifications(db_session, channel=Channel.NTFY)
    assert push.status == NotificationStatus.SUPPRESSED
    assert push.last_error is not None and push.last_error.startswith(f"quiet hours of {developer.name}")
    assert push.attempts == 0

    issue.severity = Severity.CRITICAL
    db_session.commit()
    alert_issue(issue.id, "severity", event_id)
    assert services(receiver) == ["ntfy", "slack", "slack"]


def test_cool_down_per_issue_and_trigger(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    settings = configure_tasks(slack_webhook_url=receiver.url + "/slack", alert_cooldown_minutes=10)
    _, issue, _, event_id = make_alertable(db_session, severity=Severity.MEDIUM)
    alert_issue(issue.id, "regression", event_id)
    assert services(receiver) == ["slack"]

    # The error flaps: resolved and regressed again a minute later, by another event.
    second = make_event(db_session, issue).event_id
    db_session.commit()
    alert_issue(issue.id, "regression", second)
    assert services(receiver) == ["slack"]
    held = notifications(db_session, status=NotificationStatus.SUPPRESSED)
    assert len(held) == 1 and (held[0].last_error or "").startswith("cool-down: this error alerted for regression")

    # Another trigger is not cooled down by it.
    alert_issue(issue.id, "threshold", second)
    assert services(receiver) == ["slack", "slack"]

    # Past the cool-down (held-back alerts do not extend it), the same trigger pages again.
    third = make_event(db_session, issue).event_id
    db_session.commit()
    with runtime.session() as session:
        due = record_alert(session, settings, issue.id, "regression", third, now=utcnow() + dt.timedelta(minutes=11))
    assert len(due) == 1


@pytest.mark.parametrize("status", [IssueStatus.RESOLVED, IssueStatus.IGNORED])
def test_closed_issues_are_not_paged_about(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver, status: IssueStatus
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook")
    _, issue, _, event_id = make_alertable(db_session)
    issue.status = status
    db_session.commit()
    alert_issue(issue.id, "new", event_id)
    assert notifications(db_session) == [] and receiver.requests == []


def test_a_missing_issue_or_event_is_not_an_error(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(webhook_url=receiver.url + "/company-hook")
    alert_issue(999_999, "new", "0" * 32)  # deleted meanwhile: nothing to do
    _, issue, _, _ = make_alertable(db_session)
    alert_issue(issue.id, "threshold", "f" * 32)  # unknown event: the latest one stands in
    (row,) = notifications(db_session, channel=Channel.WEBHOOK)
    assert AlertMessage.from_payload(row.payload or {}).environment == "production"


def test_bad_input_is_refused_clearly(db_session: Session, configure_tasks: Callable[..., Settings]) -> None:
    settings = configure_tasks()
    _, issue, _, event_id = make_alertable(db_session)
    with runtime.session() as session:
        with pytest.raises(AlertError, match="unknown trigger 'bogus'"):
            record_alert(session, settings, issue.id, "bogus", event_id, now=utcnow())
        with pytest.raises(AlertError, match="malformed event id"):
            record_alert(session, settings, issue.id, "new", "../../etc", now=utcnow())
    alert_issue(issue.id, "bogus", event_id)  # the task logs it and gives up: no retry can fix it
    assert notifications(db_session) == []


def test_preferences_choose_the_personal_channels(
    db_session: Session, every_channel: Settings, receiver: Receiver, inbox: Inbox
) -> None:
    _, issue, _, event_id = make_alertable(db_session, channel_preferences={"critical": ["pushover", "sms"]})
    alert_issue(issue.id, "new", event_id)
    assert services(receiver) == ["pagerduty", "pushover", "slack", "sms", "webhook"]
    assert inbox.envelopes == []  # e-mail was not among Ana's choices
