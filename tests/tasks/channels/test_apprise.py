"""Apprise: the real apprise library posting to a local receiver through its json:// URL, failures, and a clear
reason when the URLs are set but apprise is not installed."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel, NotificationStatus, Severity
from db.models import Notification
from errlog.settings import Settings, load_settings
from tasks.alerts import alert_issue
from tasks.channels import apprise as apprise_channel
from tasks.channels import configured_channels
from tasks.channels.base import DeliveryError
from tests.db.factories import make_event, make_issue, make_project
from tests.tasks.channels.helpers import make_message, make_notification
from tests.tasks.receivers import Receiver, Reply


def json_url(receiver: Receiver, path: str) -> str:
    return receiver.url.replace("http://", "json://", 1) + path


def test_every_url_gets_the_alert(receiver: Receiver) -> None:
    settings = load_settings(apprise_urls=f"{json_url(receiver, '/teams')}, {json_url(receiver, '/telegram')}")
    result = apprise_channel.send(make_notification(Channel.APPRISE, "default"), make_message(), settings)

    assert result.detail == "delivered to 2 Apprise URL(s)"
    assert sorted(request.path for request in receiver.requests) == ["/teams", "/telegram"]
    body = receiver.requests[0].json()
    assert body["title"] == "[CRITICAL] checkout: KeyError: 'sku' (New error, production)"
    assert "cart/views.py:42 in add_item" in body["message"] and body["type"] == "failure"


def test_urls_are_split_on_commas_and_spaces() -> None:
    settings = load_settings(apprise_urls=" json://a.example/x ,tgram://bot/chat\n  discord://id/token ")
    assert apprise_channel.urls(settings) == ["json://a.example/x", "tgram://bot/chat", "discord://id/token"]
    assert Channel.APPRISE in configured_channels(settings)
    assert Channel.APPRISE not in configured_channels(load_settings(apprise_urls=" "))


def test_a_failing_service_is_a_transient_error(receiver: Receiver) -> None:
    receiver.reply(Reply(500, b"down"))
    settings = load_settings(apprise_urls=json_url(receiver, "/teams"))
    with pytest.raises(DeliveryError) as caught:
        apprise_channel.send(make_notification(Channel.APPRISE, "default"), make_message(), settings)
    assert caught.value.transient and "could not deliver" in str(caught.value)


def test_an_unusable_url_is_permanent_and_not_echoed() -> None:
    settings = load_settings(apprise_urls="nosuchservice://secret-token@host")
    with pytest.raises(DeliveryError) as caught:
        apprise_channel.send(make_notification(Channel.APPRISE, "default"), make_message(), settings)
    assert not caught.value.transient and "URL 1 is not an Apprise URL" in str(caught.value)
    assert "secret-token" not in str(caught.value)


def test_without_apprise_installed_the_reason_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # what an environment without the extra looks like
    settings = load_settings(apprise_urls="json://127.0.0.1:9/x")
    with pytest.raises(DeliveryError) as caught:
        apprise_channel.send(make_notification(Channel.APPRISE, "default"), make_message(), settings)
    assert not caught.value.transient and "pip install 'errlog[apprise]'" in str(caught.value)
    assert "apprise is not installed" in caplog.text


def test_a_critical_alert_reaches_apprise_once_through_the_alert_task(
    db_session: Session, configure_tasks: Callable[..., Settings], receiver: Receiver
) -> None:
    configure_tasks(apprise_urls=json_url(receiver, "/discord"))
    project = make_project(db_session, name="billing")
    issue = make_issue(db_session, project, severity=Severity.CRITICAL, title="Heartbeat nightly is failing")
    event = make_event(db_session, issue)
    db_session.commit()

    alert_issue(issue.id, "new", event.event_id)
    alert_issue(issue.id, "new", event.event_id)  # a task run twice sends once

    [request] = receiver.requests
    assert request.path == "/discord" and "Heartbeat nightly is failing" in request.json()["title"]
    db_session.expire_all()
    [row] = db_session.scalars(select(Notification).where(Notification.channel == Channel.APPRISE)).all()
    assert (row.status, row.target, row.attempts) == (NotificationStatus.SENT, "default", 1)
