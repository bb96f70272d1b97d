"""The real Python sentry-sdk, pointed at a live collector, and what errlog then holds."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration
from sqlalchemy import select

from db.models import Event, Issue


@contextmanager
def sentry(dsn: str, **options: object) -> Iterator[None]:
    sentry_sdk.init(dsn=dsn, default_integrations=False, **options)  # type: ignore[arg-type]
    try:
        yield
    finally:
        sentry_sdk.flush(timeout=10)
        sentry_sdk.get_client().close()


def issues(collector) -> list[Issue]:
    with collector.session() as session:
        return list(session.scalars(select(Issue).order_by(Issue.id)))


def events(collector) -> list[Event]:
    with collector.session() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def charge(amount: int) -> float:
    return amount / 0


def refund(amount: int) -> float:
    return amount / 0


def test_a_handled_exception_becomes_an_issue_with_its_event(collector):
    _, dsn, _ = collector.create_project()
    with sentry(dsn, release="shop@1.4.2", environment="production"):
        sentry_sdk.set_tag("region", "eu-west-1")
        sentry_sdk.set_user({"id": "42", "email": "ada@example.com"})
        sentry_sdk.add_breadcrumb(category="cart", message="added item 7")
        try:
            charge(10)
        except ZeroDivisionError:
            event_id = sentry_sdk.capture_exception()
    [issue] = issues(collector)
    [event] = events(collector)
    assert event.event_id == event_id
    assert issue.title == "ZeroDivisionError: division by zero"
    assert issue.culprit and "charge" in issue.culprit
    assert issue.severity == "high" and issue.status == "unresolved" and issue.substatus == "new"
    assert (issue.times_seen, issue.users_affected) == (1, 1)
    assert (issue.first_release, issue.last_environment) == ("shop@1.4.2", "production")
    assert event.tags["region"] == "eu-west-1"
    assert event.payload["breadcrumbs"]["values"][-1]["message"] == "added item 7"
    frames = event.payload["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "charge"


def test_the_same_bug_twice_is_one_issue_and_two_call_sites_are_two(collector):
    _, dsn, _ = collector.create_project()
    with sentry(dsn):
        for _ in range(2):
            try:
                charge(1)
            except ZeroDivisionError:
                sentry_sdk.capture_exception()
        try:
            refund(1)
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
    found = issues(collector)
    assert sorted(issue.times_seen for issue in found) == [1, 2]
    assert len(events(collector)) == 3


def test_chained_exceptions_are_grouped_by_the_one_raised_last(collector):
    _, dsn, _ = collector.create_project()
    with sentry(dsn):
        try:
            try:
                charge(1)
            except ZeroDivisionError as exc:
                raise RuntimeError("payment failed") from exc
        except RuntimeError:
            sentry_sdk.capture_exception()
    [issue] = issues(collector)
    [event] = events(collector)
    assert issue.title == "RuntimeError: payment failed"
    types = [value["type"] for value in event.payload["exception"]["values"]]
    assert types == ["ZeroDivisionError", "RuntimeError"]


def test_log_messages_with_different_parameters_are_one_issue(collector):
    _, dsn, _ = collector.create_project()
    logger = logging.getLogger("shop.payments")
    with sentry(dsn, integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)]):
        logger.error("payment %s failed for user %d", "p-1", 42)
        logger.error("payment %s failed for user %d", "p-2", 7)
        logger.warning("not an event at warning level")
    [issue] = issues(collector)
    assert issue.times_seen == 2
    assert issue.severity == "high"
    assert [e.message for e in events(collector)] == ["payment p-1 failed for user 42", "payment p-2 failed for user 7"]


def test_capture_message_levels_map_to_severities(collector):
    _, dsn, _ = collector.create_project()
    with sentry(dsn):
        sentry_sdk.capture_message("disk almost full", level="warning")
        sentry_sdk.capture_message("worker crashed", level="fatal")
        sentry_sdk.capture_message("cache warmed", level="info")
    assert {i.title: i.severity for i in issues(collector)} == {
        "disk almost full": "medium",
        "worker crashed": "critical",
        "cache warmed": "low",
    }


def test_an_unhandled_exception_in_a_real_process_arrives(collector):
    _, dsn, _ = collector.create_project()
    script = textwrap.dedent(
        f"""
        import sentry_sdk
        sentry_sdk.init(dsn={dsn!r}, release="cli@2.0")

        def main():
            raise KeyError("missing-config")

        main()
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "KeyError" in result.stderr
    [issue] = issues(collector)
    [event] = events(collector)
    assert issue.title == "KeyError: 'missing-config'"
    assert event.payload["exception"]["values"][-1]["mechanism"]["handled"] is False
    assert issue.first_release == "cli@2.0"


def test_distinct_users_are_counted_once_each(collector):
    _, dsn, _ = collector.create_project()
    with sentry(dsn):
        for user in ("1", "2", "1", "3", "2"):
            sentry_sdk.set_user({"id": user})
            try:
                charge(1)
            except ZeroDivisionError:
                sentry_sdk.capture_exception()
    [issue] = issues(collector)
    assert (issue.times_seen, issue.users_affected) == (5, 3)


def test_secrets_in_local_variables_are_scrubbed_before_storage(collector):
    _, dsn, _ = collector.create_project()
    with sentry(dsn, include_local_variables=True):
        password = "hunter2-very-secret"
        card = "4111 1111 1111 1111"
        try:
            charge(len(password) + len(card))
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
    [event] = events(collector)
    frames = event.payload["exception"]["values"][-1]["stacktrace"]["frames"]
    test_frame = next(
        f for f in frames if f["function"] == "test_secrets_in_local_variables_are_scrubbed_before_storage"
    )
    assert test_frame["vars"]["password"] == "[Filtered]"
    assert test_frame["vars"]["card"] != "4111 1111 1111 1111"
    assert "4111 1111 1111 1111" not in str(test_frame["vars"])
