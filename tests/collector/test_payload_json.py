"""Event payloads are encoded once (orjson where it agrees with `json`) and stored as that text on both backends."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from collector import fastjson
from collector.envelope import Item
from collector.normalize import normalize_sentry_event
from collector.pipeline import ProjectInfo, _json_default, prepare_event
from collector.scrub import ScrubRules, scrub_event
from collector.storage import store_batch
from db.models import Event
from db.types import JsonText, json_serializer
from tests.db.factories import make_project

RECEIVED = dt.datetime(2026, 11, 28, 21, 0, 5, 123456, tzinfo=dt.UTC)
HUGE = 123456789012345678901234567890  # past 64 bits: orjson would read it as a float


def old_storable(payload: dict[str, Any]) -> dict[str, Any]:
    """What the collector stored before payloads were encoded once: a dump and reload with the same rules."""
    text = json.dumps(payload, default=_json_default, ensure_ascii=False).replace("\\u0000", "")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.mark.parametrize(
    "raw",
    [
        b'{"n": 123456789012345678901234567890, "m": -9223372036854775809}',
        b'{"in_text": "id 1234567890123456789012", "small": 12}',
        b'{"a": NaN, "b": [Infinity, 1e400]}',
        b'\xef\xbb\xbf{"bom": true}',
        b'{"dup": 1, "dup": 2, "float": 0.1, "exp": 1E5, "neg": -0.0, "uni": "\xc3\xa9\\u2028"}',
    ],
)
def test_item_json_reads_what_the_standard_parser_reads(raw: bytes) -> None:
    def standard(data: bytes) -> Any:
        return json.loads(data.decode("utf-8-sig"), parse_constant=lambda _: None)

    parsed = Item({"type": "event"}, raw).json()
    assert parsed == standard(raw)
    assert json.dumps(parsed, sort_keys=True) == json.dumps(standard(raw), sort_keys=True)  # no int became a float


def test_lone_surrogates_become_replacement_characters_and_pairs_stay() -> None:
    raw = b'{"lone": "\\ud800", "pair": "\\ud83d\\ude00", "\\uDC00 key": ["a\\uDBFFb", {"deep": "\\udfff"}]}'
    assert Item({"type": "event"}, raw).json() == {
        "lone": "\ufffd",
        "pair": "\U0001f600",
        "\ufffd key": ["a\ufffdb", {"deep": "\ufffd"}],
    }


def test_invalid_json_keeps_the_standard_parsers_message() -> None:
    with pytest.raises(Exception, match=r"event item: invalid JSON: Expecting value"):
        Item({"type": "event"}, b'{"a": }').json()


@pytest.mark.parametrize(
    "value",
    [
        {"when": RECEIVED, "day": dt.date(2026, 11, 28), "naive": dt.datetime(2026, 1, 2, 3, 4, 5)},
        {1: "int key", None: "null key", 2.5: "float key", "set": {1}, "bytes": b"x"},
        {"huge": HUGE, "negative": -(2**63) - 1},
        {"nul": "a\x00b", "nested": {"k\x00": ["\x00"]}, "lone": "\ud800"},
        {"deep": [[[[[[[[[[["x"]]]]]]]]]]] * 30},
    ],
)
def test_encoding_once_stores_what_dump_and_reload_stored(value: dict[str, Any]) -> None:
    event = normalize_sentry_event({"message": "m", "extra": value}, received_at=RECEIVED)
    event["timestamp"] = RECEIVED
    prepared = prepare_event(event, ProjectInfo(1, "shop", ScrubRules()), source="sentry", size_bytes=1)
    assert isinstance(prepared.payload_json, JsonText)
    assert "\\u0000" not in prepared.payload_json
    assert prepared.payload == old_storable(scrub_event(event))


def test_deeper_than_orjson_goes_falls_back_to_the_standard_encoder() -> None:
    deep: Any = "bottom"
    for _ in range(300):
        deep = [deep]
    assert json.loads(fastjson.dumps({"deep": deep}, _json_default)) == {"deep": deep}


def test_tags_are_taken_clean_of_nul_characters() -> None:
    event = normalize_sentry_event({"message": "m", "tags": {"k\x00ey": "va\x00lue"}}, received_at=RECEIVED)
    prepared = prepare_event(event, ProjectInfo(1, "shop", ScrubRules()), source="sentry", size_bytes=1)
    assert prepared.tags == {"key": "value"}


def test_the_engines_encoder_passes_encoded_text_through() -> None:
    assert json_serializer(JsonText('{"a": 1}')) == '{"a": 1}'
    assert json_serializer('{"a": 1}') == '"{\\"a\\": 1}"'  # a plain string is still a JSON string
    assert json_serializer({"a": [1, None]}) == '{"a": [1, null]}'


def test_the_engines_encoder_writes_tags_as_the_standard_library_would() -> None:
    tags = {"url": "https://shop/caf\u00e9", "quote": 'say "hi"\n', "lone": "\ud800"}
    assert json.loads(json_serializer(tags)) == json.loads(json.dumps(tags))
    assert json.loads(json_serializer({"env": "caf\u00e9"})) == {"env": "caf\u00e9"}
    assert json.loads(json_serializer({"n": float("nan")}), parse_constant=str) == {"n": "NaN"}  # not orjson's null


def test_encoded_payload_is_stored_as_the_document(db_session) -> None:
    project = make_project(db_session)
    raw = {"message": "caf\u00e9 \u2603", "extra": {"huge": HUGE, "nul": "a\x00b", "list": [1, 2.5, True, None]}}
    event = normalize_sentry_event(raw, received_at=RECEIVED)
    prepared = prepare_event(event, ProjectInfo(project.id, "shop", ScrubRules()), source="sentry", size_bytes=1)
    store_batch(db_session, [prepared], now=RECEIVED)
    db_session.commit()
    db_session.expunge_all()
    stored = db_session.scalars(select(Event).where(Event.event_id == prepared.event_id)).one()
    assert stored.payload == old_storable(scrub_event(event))
    assert stored.payload["extra"]["huge"] == HUGE and stored.payload["extra"]["nul"] == "ab"
    assert stored.payload["message"]["formatted"] == "caf\u00e9 \u2603"


def test_nan_and_infinity_are_stored_as_null(db_session) -> None:
    """`/store/` bodies and webhooks may hold NaN (Python's json reads it): stored as null, on both backends."""
    project = make_project(db_session)
    event = normalize_sentry_event(
        {"message": "m", "extra": {"ratio": float("nan"), "limit": float("inf"), "ok": 0.5}}, received_at=RECEIVED
    )
    prepared = prepare_event(event, ProjectInfo(project.id, "shop", ScrubRules()), source="sentry", size_bytes=1)
    assert prepared.payload["extra"] == {"ratio": None, "limit": None, "ok": 0.5}
    store_batch(db_session, [prepared], now=RECEIVED)
    db_session.commit()
    stored = db_session.scalars(select(Event.payload).where(Event.event_id == prepared.event_id)).one()
    assert stored["extra"] == {"ratio": None, "limit": None, "ok": 0.5}
