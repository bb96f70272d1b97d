"""The scrubber remembers strings it found clean: that must never let a secret through or keep one in memory."""

from __future__ import annotations

import copy
import datetime as dt
import enum
import json
import math
import uuid
from typing import Any

from collector import scrub_memory
from collector.scrub import FILTERED, MAX_DEPTH, ScrubRules, scrub_event

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


def scrub_extra(value: Any, rules: ScrubRules) -> Any:
    return scrub_event(make_event(extra={"neutral": value}), rules)["extra"]["neutral"]


def remembered(rules: ScrubRules) -> set[str]:
    return rules._memory.texts | rules._memory.code_lines


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
    many = {f"k{i}": f"value number {i}" for i in range(scrub_memory.MAX_TEXTS + 100)}
    assert scrub_event(make_event(extra=many), rules)["extra"] == many
    assert len(remembered(rules)) <= scrub_memory.MAX_TEXTS
    long_text = "word " * (scrub_memory.MAX_TEXT_LENGTH // 5 + 1)
    assert scrub_event(make_event(extra={"note": long_text}), rules)["extra"]["note"] == long_text
    assert long_text not in remembered(rules)


# ---- subtrees -----------------------------------------------------------------------------------------


SDK = {"name": "sentry.python", "packages": [{"name": "pypi:sentry-sdk", "version": "2"}], "integrations": ["argv"]}


def test_a_subtree_seen_clean_is_still_hidden_under_a_sensitive_key() -> None:
    rules = ScrubRules()
    for _ in range(2):
        assert scrub_event(make_event(extra={"config": SDK}), rules)["extra"] == {"config": SDK}
    assert rules._memory.trees
    assert scrub_event(make_event(extra={"credentials": SDK}), rules)["extra"] == {"credentials": FILTERED}


def test_a_subtree_with_anything_scrubbed_is_never_remembered() -> None:
    rules = ScrubRules()
    config = {"name": "shop", "password": PASSWORD, "nested": {"note": f"api_key={PASSWORD}"}}
    for _ in range(3):
        assert scrub_event(make_event(extra={"config": config}), rules)["extra"]["config"] == {
            "name": "shop",
            "password": FILTERED,
            "nested": {"note": f"api_key={FILTERED}"},
        }
    assert not any(PASSWORD.encode() in text for _, text in rules._memory.trees)


def test_a_remembered_subtree_is_copied_not_shared() -> None:
    rules = ScrubRules()
    event = make_event(sdk=copy.deepcopy(SDK))
    before = copy.deepcopy(event)
    first = scrub_event(event, rules)
    second = scrub_event(event, rules)
    assert first == second == before
    second["sdk"]["packages"][0]["name"] = "changed"
    second["sdk"]["integrations"].append("more")
    assert event == before
    assert first["sdk"] == SDK


def test_a_value_json_cannot_tell_from_a_clean_one_is_scrubbed_as_itself() -> None:
    class Code(enum.Enum):
        CARD = 4111111111111111  # JSON writes it as the number, which is a card number

    rules = ScrubRules()
    assert scrub_extra({"v": Code.CARD}, rules) == {"v": Code.CARD}
    assert scrub_extra({"v": Code.CARD}, rules) == {"v": Code.CARD}
    assert scrub_extra({"v": 4111111111111111}, rules) == {"v": FILTERED}
    # Remembered as {"v": null}: a NaN, which JSON also writes as null, comes back as NaN.
    assert scrub_extra({"v": None}, rules) == {"v": None}
    assert scrub_extra({"v": None}, rules) == {"v": None}
    assert math.isnan(scrub_extra({"v": float("nan")}, rules)["v"])
    assert scrub_extra({"password": None}, rules) == {"password": None}
    assert scrub_extra({"password": None}, rules) == {"password": None}
    assert scrub_extra({"password": float("nan")}, rules) == {"password": FILTERED}
    # A source line that is not a string is copied as it is; its twin as a string gets the value rules.
    card_like = uuid.UUID("41111111-1111-1111-1111-111111111111")
    for _ in range(2):
        assert scrub_extra({"frames": [{"pre_context": [card_like]}]}, rules) == {
            "frames": [{"pre_context": [card_like]}]
        }
    as_text = scrub_extra({"frames": [{"pre_context": [str(card_like)]}]}, rules)["frames"][0]["pre_context"][0]
    assert as_text.startswith(FILTERED)


def test_a_subtree_remembered_higher_up_is_still_cut_off_deeper_down() -> None:
    rules = ScrubRules()
    chain: Any = "leaf"
    for _ in range(5):
        chain = {"next": chain}
    assert scrub_extra(chain, rules) == chain
    assert scrub_extra(chain, rules) == chain
    deep: Any = chain
    for _ in range(MAX_DEPTH - 5):
        deep = {"down": deep}
    cut = scrub_extra(deep, rules)
    for _ in range(MAX_DEPTH - 5):
        cut = cut["down"]
    assert FILTERED in json.dumps(cut)


def test_subtree_memory_is_bounded() -> None:
    rules = ScrubRules()
    big = {f"k{i}": "x" * 40 for i in range(scrub_memory.MAX_TREE_BYTES // 40)}
    assert scrub_extra(big, rules) == big
    assert not rules._memory.trees
    for i in range(scrub_memory.MAX_TREES_BYTES // 1000):
        many = {"n": i, "text": "y" * 1000}
        assert scrub_extra(many, rules) == many
    assert rules._memory.tree_bytes <= scrub_memory.MAX_TREES_BYTES
    assert len(rules._memory.trees) < scrub_memory.MAX_TREES_BYTES // 1000
