"""The scrubber remembers strings it found clean: that must never let a secret through or keep one in memory."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from collector import scrub
from collector.scrub import FILTERED, ScrubRules, scrub_event

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PASSWORD = "hunter2"


def make_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
        "timestamp": dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC),
        "level": "error",
    }
    event.update(fields)
    return event


def remembered(rules: ScrubRules) -> set[str]:
    text, code = rules._clean_texts
    return text | code


def test_a_string_seen_clean_is_still_hidden_under_a_sensitive_key() -> None:
    rules = ScrubRules()
    assert scrub_event(make_event(extra={"note": "open sesame"}), rules)["extra"] == {"note": "open sesame"}
    assert "open sesame" in remembered(rules)
    scrubbed = scrub_event(make_event(extra={"password": "open sesame", "items": ["open sesame"]}), rules)
    assert scrubbed["extra"] == {"password": FILTERED, "items": ["open sesame"]}
    assert scrub_event(make_event(request={"headers": [["Authorization", "open sesame"]]}), rules)["request"] == {
        "headers": [["Authorization", FILTERED]]
    }


def test_each_projects_rules_remember_for_themselves() -> None:
    plain, strict = ScrubRules(), ScrubRules(extra_patterns=(r"order-\d+",))
    event = make_event(extra={"note": "order-981 failed"})
    assert scrub_event(event, plain)["extra"]["note"] == "order-981 failed"
    assert scrub_event(event, strict)["extra"]["note"] == f"{FILTERED} failed"
    assert scrub_event(event, plain)["extra"]["note"] == "order-981 failed"


def test_a_source_line_kept_as_code_is_still_scrubbed_as_a_message() -> None:
    rules = ScrubRules()
    line = f"password={PASSWORD}"
    frame = {"filename": "app.py", "function": "f", "context_line": line, "pre_context": [line]}
    scrubbed = scrub_event(make_event(exception={"values": [{"stacktrace": {"frames": [frame]}}]}), rules)
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["context_line"] == line
    assert scrub_event(make_event(extra={"log": line}), rules)["extra"]["log"] == f"password={FILTERED}"
    assert scrub_event(make_event(extra={"lines": [line]}), rules)["extra"]["lines"] == [f"password={FILTERED}"]


def test_a_key_secret_seen_clean_alone_is_hidden_next_to_its_key_id() -> None:
    rules = ScrubRules()
    assert scrub_event(make_event(extra={"sk": AWS_SECRET}), rules)["extra"] == {"sk": AWS_SECRET}
    assert scrub_event(make_event(extra={"id": AWS_ID, "sk": AWS_SECRET}), rules)["extra"] == {
        "id": FILTERED,
        "sk": FILTERED,
    }
    assert scrub_event(make_event(extra={"pair": [AWS_ID, AWS_SECRET]}), rules)["extra"] == {
        "pair": [FILTERED, FILTERED]
    }


def test_memory_holds_no_secret_and_changes_no_result() -> None:
    event = make_event(
        message={"formatted": f"login failed for bob password={PASSWORD}"},
        request={"url": f"https://bob:{PASSWORD}@shop.example/?token=abc", "cookies": "sessionid=s3cr3t; theme=dark"},
        extra={"card": "4111 1111 1111 1111", "auth": f"Bearer {'x' * 20}", "id": AWS_ID, "note": "plain words"},
        breadcrumbs={"values": [{"message": f"retry with api_key={PASSWORD}"}, {"message": "plain words"}]},
    )
    rules = ScrubRules()
    first = scrub_event(copy.deepcopy(event), rules)
    again = scrub_event(copy.deepcopy(event), rules)
    assert first == again == scrub_event(copy.deepcopy(event), ScrubRules())
    assert "plain words" in remembered(rules)
    for kept in remembered(rules):
        for secret in (PASSWORD, "s3cr3t", "4111", "x" * 20, AWS_ID):
            assert secret not in kept


def test_memory_is_bounded_and_skips_long_strings() -> None:
    rules = ScrubRules()
    many = {f"k{i}": f"value number {i}" for i in range(scrub._MEMO_MAX_ENTRIES + 100)}
    assert scrub_event(make_event(extra=many), rules)["extra"] == many
    assert len(remembered(rules)) <= scrub._MEMO_MAX_ENTRIES
    long_text = "word " * (scrub._MEMO_MAX_LENGTH // 5 + 1)
    assert scrub_event(make_event(extra={"note": long_text}), rules)["extra"]["note"] == long_text
    assert long_text not in remembered(rules)
