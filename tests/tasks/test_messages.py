"""What alerts say: in-app frames from the event, the forms per channel, the payload kept on a notification."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import Any

from tasks.channels.sms import fits_one_segment, gsm_length, sms_text
from tasks.messages import AlertMessage, html_text, in_app_frames, plain_text, short_text, subject

FIRST = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
LAST = dt.datetime(2026, 3, 10, 12, 30, 5, tzinfo=dt.UTC)


def make_message(**fields: Any) -> AlertMessage:
    values: dict[str, Any] = {
        "issue_id": 42,
        "trigger": "new",
        "title": "KeyError: 'sku'",
        "severity": "critical",
        "service": "checkout",
        "times_seen": 1234,
        "users_affected": 56,
        "first_seen": FIRST,
        "last_seen": LAST,
        "url": "https://errors.example.com/api/error-logging/errors/42/",
        "environment": "production",
        "culprit": "cart.views in add_item",
        "frames": (("cart/views.py:42 in add_item", "price = PRICES[sku]"),),
    }
    values.update(fields)
    return AlertMessage(**values)


def frame(filename: str, lineno: int, in_app: bool | None, context: str | None = None) -> dict[str, Any]:
    return {
        "filename": filename,
        "lineno": lineno,
        "function": f"f_{lineno}",
        "in_app": in_app,
        "context_line": context,
    }


def test_in_app_frames_come_from_the_main_exception_most_recent_last() -> None:
    payload = {
        "exception": {
            "values": [
                {"type": "OSError", "stacktrace": {"frames": [frame("cause.py", 1, True)]}},
                {
                    "type": "KeyError",
                    "stacktrace": {
                        "frames": [
                            frame("site-packages/django/core.py", 10, False),
                            frame("app/views.py", 20, True, "  total = cart.total()  "),
                            frame("site-packages/django/db.py", 30, False),
                            frame("app/models.py", 40, True, "return PRICES[sku]"),
                        ]
                    },
                },
            ]
        }
    }
    assert in_app_frames(payload) == (
        ("app/views.py:20 in f_20", "total = cart.total()"),
        ("app/models.py:40 in f_40", "return PRICES[sku]"),
    )


def test_frames_fall_back_to_unmarked_ones_and_keep_the_last_few() -> None:
    frames = [frame(f"mod{i}.js", i, None) for i in range(10)]
    got = in_app_frames({"exception": {"values": [{"stacktrace": {"frames": frames}}]}}, limit=3)
    assert [where for where, _ in got] == ["mod7.js:7 in f_7", "mod8.js:8 in f_8", "mod9.js:9 in f_9"]


def test_no_stack_no_frames() -> None:
    assert in_app_frames(None) == ()
    assert in_app_frames({"message": {"formatted": "hi"}}) == ()
    assert in_app_frames({"exception": {"values": [{"type": "E", "stacktrace": None}]}}) == ()
    assert in_app_frames({"exception": {"values": "garbage"}}) == ()


def test_payload_round_trip() -> None:
    message = make_message()
    assert AlertMessage.from_payload(message.to_payload()) == message


def test_subject_and_plain_text_carry_the_facts() -> None:
    message = make_message()
    assert subject(message) == "[CRITICAL] checkout: KeyError: 'sku' (New error, production)"
    text = plain_text(message)
    for expected in [
        "New error: KeyError: 'sku'",
        "Severity        CRITICAL",
        "Events          1,234",
        "Users affected  56",
        "First seen      2026-03-01 08:00:00 UTC",
        "Last seen       2026-03-10 12:30:05 UTC",
        "cart/views.py:42 in add_item",
        "price = PRICES[sku]",
        "Error id: 42",
        "errlog-tui --open 42",
    ]:
        assert expected in text


def test_html_escapes_what_the_error_says() -> None:
    message = make_message(title="<script>alert(1)</script>", frames=(("a.py:1 in f", "if a < b & c:"),))
    page = html_text(message)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "if a &lt; b &amp; c:" in page


def test_short_text_fits_and_keeps_the_id() -> None:
    message = make_message(title="ValueError: " + "x" * 400)
    text = short_text(message, 160)
    assert len(text) == 160
    assert text.startswith("CRITICAL checkout (production): ValueError: xxx")
    assert text.endswith("... #42 errlog-tui --open 42")
    assert short_text(make_message(), 160) == (
        "CRITICAL checkout (production): KeyError: 'sku' #42 errlog-tui --open 42"
    )


def test_sms_fits_one_gsm_segment() -> None:
    text = sms_text(make_message(title="RuntimeError: " + "ü" * 300))  # ü is in the GSM alphabet
    assert gsm_length(text) == 160
    assert fits_one_segment(text)


def test_sms_counts_gsm_extension_characters_twice() -> None:
    text = sms_text(make_message(title="KeyError: {" + "[]" * 200 + "}"))
    assert gsm_length(text) is not None
    assert gsm_length(text) in (159, 160)  # as long as fits: one short when a two-septet character is last
    assert fits_one_segment(text)


def test_sms_with_unicode_uses_the_70_character_segment() -> None:
    text = sms_text(make_message(title="ValueError: 無効な値です " * 10))
    assert gsm_length(text) is None
    assert len(text) <= 70
    assert text.endswith("#42")  # the TUI command gave way to the title; the id stays
    assert fits_one_segment(text)


def test_sms_without_environment_or_frames() -> None:
    message = dataclasses.replace(make_message(), environment=None, frames=())
    assert sms_text(message) == "CRITICAL checkout: KeyError: 'sku' #42 errlog-tui --open 42"


def test_an_escalation_says_why_in_every_long_form_and_first_in_short_text() -> None:
    note = "Level 2, from Pia to Sam: unacknowledged for 15 min (step 1 of chain 'default')"
    message = make_message(trigger="escalation", note=note)
    assert f"{'Why'.ljust(len('Users affected'))}  {note}" in plain_text(message).splitlines()
    assert html.escape(note) in html_text(message)
    assert short_text(message).startswith("Escalated: CRITICAL checkout")
    assert AlertMessage.from_payload(message.to_payload()) == message
