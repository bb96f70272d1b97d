"""The Python examples of docs/integrations.md, run with the real sentry-sdk against a live collector, and what the
REST API then lists."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.docs.examples import block
from tests.docs.run import python

DOC = "integrations.md"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_the_django_settings_report_errors_with_user_and_release_and_drop_the_noise(docs_project, tmp_path):
    write(tmp_path, "settings.py", docs_project.substitute(block(DOC, "django-sentry").text))
    driver = textwrap.dedent(
        """
        import runpy

        import sentry_sdk

        runpy.run_path("settings.py")  # what Django does with its settings module


        class DisallowedHost(Exception):  # as django.core.exceptions names it
            pass


        def checkout(cart_id):
            return 100 / (cart_id - cart_id)


        sentry_sdk.set_user({"id": "7", "username": "dana", "email": "dana@example.com"})
        try:
            checkout(7)
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
        try:
            raise DisallowedHost("Invalid HTTP_HOST header: 'evil.example'")
        except DisallowedHost:
            sentry_sdk.capture_exception()
        sentry_sdk.flush(timeout=10)
        """
    )
    python(write(tmp_path, "driver.py", driver), env=docs_project.environment())

    [error] = docs_project.wait_for_errors("ZeroDivisionError")
    assert error["culprit"] and "checkout" in error["culprit"]
    assert (error["first_release"], error["environment"]) == ("shop@1.4.2", "production")
    assert error["users_affected"] == 1 and error["severity"] == "high"
    assert docs_project.errors("DisallowedHost") == [], "drop_noise should have dropped it"
    [event] = docs_project.events(error["id"])
    assert event["user_key"] == "id:7"


def test_the_django_logging_config_reports_unhandled_request_errors_through_the_webhook(docs_project, tmp_path):
    write(tmp_path, "errlog_logging.py", docs_project.substitute(block(DOC, "python-logging-handler").text))
    write(tmp_path, "logging_settings.py", block(DOC, "django-logging-config").text)
    # What django.core.handlers.exception does with an exception a view raised: log it to django.request with the
    # request attached (django.utils.log.log_response), here with stand-ins for Django's request and user.
    driver = textwrap.dedent(
        """
        import logging.config
        import sys

        from logging_settings import LOGGING

        logging.config.dictConfig(LOGGING)


        class User:
            pk = 7
            is_authenticated = True

            def get_username(self):
                return "dana"


        class Request:
            method = "GET"
            user = User()

            def build_absolute_uri(self):
                return "https://shop.example.com/cart/7"


        def cart_view(request):
            return {"items": []}["total"]


        try:
            cart_view(Request())
        except KeyError:
            logging.getLogger("django.request").error(
                "Internal Server Error: %s", "/cart/7", exc_info=sys.exc_info(),
                extra={"status_code": 500, "request": Request()},
            )
        """
    )
    python(write(tmp_path, "driver.py", driver), env=docs_project.environment())

    [error] = docs_project.errors("KeyError")
    assert error["platform"] == "python" and error["culprit"] and "cart_view" in error["culprit"]
    assert (error["first_release"], error["environment"]) == ("shop@1.4.2", "production")
    [summary] = docs_project.events(error["id"])
    event = docs_project.event(summary["event_id"])
    assert event["source"] == "webhook:generic" and summary["user_key"] == "id:7"
    payload = event["payload"]
    assert payload["request"] == {"url": "https://shop.example.com/cart/7", "method": "GET"}
    assert payload["logger"] == "django.request"
    assert payload["extra"]["log_message"] == "Internal Server Error: /cart/7"
    frames = payload["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "cart_view" and frames[-1]["in_app"] is True


def test_the_sentry_logging_integration_sends_error_records_as_events(docs_project, tmp_path):
    script = docs_project.substitute(block(DOC, "python-sentry-logging").text) + "\nsentry_sdk.flush(timeout=10)\n"
    python(write(tmp_path, "billing.py", script), env=docs_project.environment())

    [message] = docs_project.errors('"could not be sent"')
    assert message["title"].startswith("invoice 42 could not be sent") and message["severity"] == "high"
    assert message["first_release"] == "billing@3.1.0"
    [summary] = docs_project.events(message["id"])
    payload = docs_project.event(summary["event_id"])["payload"]
    assert payload["logger"] == "billing.invoices"
    assert payload["message"]["message"] == "invoice %s could not be sent: the mail server refused it"
    assert [crumb.get("message") for crumb in payload["breadcrumbs"]["values"]] == ["sending invoice 42"]
    [exception] = docs_project.errors("ValueError")
    [summary] = docs_project.events(exception["id"])
    frames = docs_project.event(summary["event_id"])["payload"]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["filename"].endswith("billing.py")


def test_the_plain_logging_handler_sends_exceptions_with_their_stack(docs_project, tmp_path):
    write(tmp_path, "errlog_logging.py", docs_project.substitute(block(DOC, "python-logging-handler").text))
    python(write(tmp_path, "app.py", block(DOC, "python-logging-setup").text), env=docs_project.environment())

    [error] = docs_project.errors("ValueError")
    assert error["title"].startswith("ValueError: invalid literal for int()")
    assert error["platform"] == "python" and error["first_release"] == "billing@3.1.0"
    [summary] = docs_project.events(error["id"])
    payload = docs_project.event(summary["event_id"])["payload"]
    assert payload["logger"] == "billing.invoices"
    assert payload["extra"]["log_message"] == "invoice 42 has an unreadable amount"
    assert payload["exception"]["values"][-1]["stacktrace"]["frames"][-1]["filename"].endswith("app.py")


def test_the_logging_handler_never_raises_into_the_code_that_logged(docs_project, tmp_path):
    handler = block(DOC, "python-logging-handler").text  # the placeholder URL: nothing answers there
    write(tmp_path, "errlog_logging.py", handler.replace("https://errlog.example.com", "http://127.0.0.1:9"))
    output = python(write(tmp_path, "app.py", block(DOC, "python-logging-setup").text), env=docs_project.environment())
    assert "--- Logging error ---" in output  # logging's own report of a failed handler, on stderr
