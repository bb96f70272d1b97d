"""Envelope parsing: the spec's framing rules and examples, bad input, and envelopes as real SDKs send them."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope as SdkEnvelope
from sentry_sdk.transport import Transport

from collector.auth_header import public_key_from_request
from collector.body import MAX_CHECK_IN_SIZE, MAX_COMPRESSED_REQUEST_SIZE, MAX_ENVELOPE_SIZE, read_body
from collector.envelope import (
    Dsn,
    Envelope,
    EnvelopeError,
    Item,
    check_dsn_project,
    dsn_project_id,
    dsn_public_key,
    envelope_dsn,
    event_id_of,
    extract_event,
    parse_dsn,
    parse_envelope,
)

EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
PUBLIC_KEY = "0123456789abcdef0123456789abcdef"
BIG = 100 * 1024 * 1024


def parse(body: bytes, **limits: int) -> Envelope:
    limits.setdefault("max_item_size", BIG)
    return parse_envelope(body, **limits)


def parse_error(body: bytes, **limits: int) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as info:
        parse(body, **limits)
    return info.value


def make_envelope(*items: tuple[dict[str, Any], bytes], **headers: Any) -> bytes:
    """An envelope with explicit lengths, as most SDKs write it."""
    lines = [json.dumps(headers).encode()]
    for item_headers, payload in items:
        lines += [json.dumps({**item_headers, "length": len(payload)}).encode(), payload]
    return b"\n".join(lines) + b"\n"


def event_item(**event: Any) -> tuple[dict[str, Any], bytes]:
    return {"type": "event"}, json.dumps(event).encode()


def types(envelope: Envelope) -> list[str]:
    return [item.type for item in envelope.items]


# --- the spec's own examples (develop.sentry.dev, "Envelopes" > "Full Examples") ---------------------------

SPEC_HEADER = (
    b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42"}\n'
)
SPEC_TWO_ITEMS = (
    SPEC_HEADER
    + b'{"type":"attachment","length":10,"content_type":"text/plain","filename":"hello.txt"}\n'
    + b"\xef\xbb\xbfHello\r\n\n"
    + b'{"type":"event","length":41,"content_type":"application/json","filename":"application.log"}\n'
    + b'{"message":"hello world","level":"error"}\n'
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            SPEC_TWO_ITEMS,
            [("attachment", b"\xef\xbb\xbfHello\r\n"), ("event", b'{"message":"hello world","level":"error"}')],
        ),
        (
            SPEC_TWO_ITEMS[:-1],  # last newline omitted
            [("attachment", b"\xef\xbb\xbfHello\r\n"), ("event", b'{"message":"hello world","level":"error"}')],
        ),
        (
            b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment","length":0}\n\n'
            b'{"type":"attachment","length":0}\n\n',
            [("attachment", b""), ("attachment", b"")],
        ),
        (
            b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment","length":0}\n\n'
            b'{"type":"attachment","length":0}\n',
            [("attachment", b""), ("attachment", b"")],
        ),
        (
            b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment"}\nhelloworld\n',
            [("attachment", b"helloworld")],
        ),
        (
            b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"attachment"}\nhelloworld',
            [("attachment", b"helloworld")],
        ),
        (
            b'{}\n{"type":"session"}\n{"started": "2020-02-07T14:16:00Z","attrs":{"release":"sentry-test@1.0.0"}}',
            [("session", b'{"started": "2020-02-07T14:16:00Z","attrs":{"release":"sentry-test@1.0.0"}}')],
        ),
        # An implicit-length payload ending in "\r\n" keeps the "\r".
        (b'{}\n{"type":"attachment"}\nabc\r\n', [("attachment", b"abc\r")]),
        # An item header right at the end of the body has an empty payload.
        (b'{}\n{"type":"attachment","length":0}', [("attachment", b"")]),
        (b'{}\n{"type":"attachment"}', [("attachment", b"")]),
    ],
)
def test_spec_examples_parse(body: bytes, expected: list[tuple[str, bytes]]) -> None:
    envelope = parse(body)
    assert [(item.type, item.payload) for item in envelope.items] == expected


def test_spec_example_headers_and_item_headers_are_kept() -> None:
    envelope = parse(SPEC_TWO_ITEMS)
    assert envelope.headers["event_id"] == EVENT_ID
    assert envelope.items[0].headers == {
        "type": "attachment",
        "length": 10,
        "content_type": "text/plain",
        "filename": "hello.txt",
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}',
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n',
        b"{}\n",
        b"{}\n\n\n",  # Relay also skips blank lines before an item header
        b"{}\r\n",
    ],
)
def test_envelope_with_only_a_header_has_no_items(body: bytes) -> None:
    envelope = parse(body)
    assert envelope.items == []


def test_blank_lines_between_items_are_skipped() -> None:
    body = b'{}\n{"type":"session","length":2}\n{}\n\n\n{"type":"client_report"}\n{}\n'
    assert types(parse(body)) == ["session", "client_report"]


def test_binary_payload_with_newlines_is_taken_by_length() -> None:
    payload = bytes(range(256)) * 3
    envelope = parse(make_envelope(({"type": "attachment", "filename": "core.bin"}, payload), event_id=EVENT_ID))
    assert envelope.items[0].payload == payload


# --- bad envelopes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty envelope"),
        (b" \n\n", "empty envelope"),
        (b"{not json}\n", "envelope header: invalid JSON: Expecting property name enclosed in double quotes"),
        (b'[{"event_id":"x"}]\n', "envelope header is not a JSON object"),
        (b'"text"\n', "envelope header is not a JSON object"),
        (b'{"event_id":"\xff\xfe"}\n', "envelope header: invalid UTF-8 at byte 13"),
        (b"{}\n{\n", "item 1 header: invalid JSON: Expecting property name enclosed in double quotes"),
        (b"{}\n[1, 2]\n", "item 1 header is not a JSON object"),
        (b'{}\n{"length":2}\n{}\n', 'item 1 header: "type" must be a non-empty string'),
        (b'{}\n{"type":""}\n{}\n', 'item 1 header: "type" must be a non-empty string'),
        (b'{}\n{"type":7}\n{}\n', 'item 1 header: "type" must be a non-empty string'),
        (b'{}\n{"type":"event","length":-1}\n{}\n', 'item 1 (event): "length" must be a non-negative integer, not -1'),
        (
            b'{}\n{"type":"event","length":"2"}\n{}\n',
            "item 1 (event): \"length\" must be a non-negative integer, not '2'",
        ),
        (
            b'{}\n{"type":"event","length":2.0}\n{}\n',
            'item 1 (event): "length" must be a non-negative integer, not 2.0',
        ),
        (
            b'{}\n{"type":"event","length":true}\n{}\n',
            'item 1 (event): "length" must be a non-negative integer, not True',
        ),
        (
            b'{}\n{"type":"session","length":2}\n{}\n{"type":"attachment","length":500}\n' + b"x" * 20,
            "item 2 (attachment): length 500 exceeds remaining 20 bytes",
        ),
        (b'{}\n{"type":"event","length":2}\n{}}\n', "item 1 (event): payload of length 2 is not followed by a newline"),
        (
            b'{}\n{"type":"event","length":2}\n{}\r\n',
            "item 1 (event): payload of length 2 is not followed by a newline",
        ),
        (b"{" + b" " * 70_000 + b"}\n", "envelope header is longer than 65536 bytes"),
        (b'{}\n{"type":"x"' + b" " * 70_000 + b"}\n", "item 1 header is longer than 65536 bytes"),
    ],
)
def test_malformed_envelope_is_400_with_reason(body: bytes, reason: str) -> None:
    error = parse_error(body)
    assert error.status == 400
    assert error.reason.startswith(reason), error.reason


def test_item_larger_than_max_item_size_is_413() -> None:
    body = make_envelope(({"type": "attachment"}, b"x" * 101))
    error = parse_error(body, max_item_size=100)
    assert (error.status, error.reason) == (413, "item 1 (attachment): payload of 101 bytes exceeds 100 bytes")
    assert types(parse(body, max_item_size=101)) == ["attachment"]


def test_implicit_length_item_is_size_checked_too() -> None:
    error = parse_error(b'{}\n{"type":"attachment"}\n' + b"x" * 101 + b"\n", max_item_size=100)
    assert error.status == 413


def test_event_item_has_its_own_limit() -> None:
    body = make_envelope(event_item(message="x" * 200), ({"type": "attachment"}, b"y" * 1000))
    error = parse_error(body, max_event_size=100)
    assert error.status == 413
    assert error.reason.startswith("item 1 (event): payload of ")
    assert types(parse(body, max_event_size=1000)) == ["event", "attachment"]


def test_check_in_item_is_limited_as_relay_does() -> None:
    body = make_envelope(({"type": "check_in"}, b" " * (MAX_CHECK_IN_SIZE + 1)))
    assert parse_error(body).status == 413


def test_too_many_items_is_413() -> None:
    body = b"{}\n" + b'{"type":"client_report"}\n{}\n' * 11
    error = parse_error(body, max_items=10)
    assert (error.status, error.reason) == (413, "envelope has more than 10 items")
    assert len(parse(body, max_items=11).items) == 11


# --- item payloads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{nope", "event item: invalid JSON: Expecting property name enclosed in double quotes"),
        (b"", "event item: invalid JSON: Expecting value"),
        (b'{"message":"caf\xe9"}', "event item: invalid UTF-8 at byte 15"),
        (b"[" * 100_000 + b"]" * 100_000, "event item: JSON nested too deeply"),
        (b'{"n":' + b"9" * 5000 + b"}", "event item: invalid JSON: a number has more than 4300 digits"),
    ],
)
def test_item_json_errors_say_what_is_wrong(payload: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        Item({"type": "event"}, payload).json()
    assert info.value.status == 400
    assert info.value.reason.startswith(reason), info.value.reason


def test_item_json_tolerates_a_bom_and_turns_nan_into_null() -> None:
    item = Item({"type": "event"}, b'\xef\xbb\xbf{"a": NaN, "b": Infinity, "c": -Infinity, "d": "\xc3\xa9"}')
    assert item.json() == {"a": None, "b": None, "c": None, "d": "é"}


# --- picking the event out -----------------------------------------------------------------------------


def test_extract_event_returns_the_event_and_check_ins_and_names_the_skipped_items() -> None:
    body = make_envelope(
        ({"type": "attachment", "filename": "a.txt"}, b"hi"),
        event_item(message="boom", level="error"),
        ({"type": "check_in"}, b'{"check_in_id":"c1","monitor_slug":"nightly","status":"ok"}'),
        ({"type": "session"}, b'{"sid":"s"}'),
        ({"type": "client_report"}, b"{}"),
        ({"type": "some_future_type"}, b"\x00\x01"),
        ({"type": "error"}, b"{}"),  # not an item type in the spec: skipped, not taken for an event
        event_id=EVENT_ID,
    )
    contents = extract_event(parse(body))
    assert contents.event == {"message": "boom", "level": "error"}
    assert contents.check_ins == [{"check_in_id": "c1", "monitor_slug": "nightly", "status": "ok"}]
    assert contents.skipped == ["attachment", "session", "client_report", "some_future_type", "error"]


def test_envelope_without_an_event_gives_none() -> None:
    contents = extract_event(parse(make_envelope(({"type": "transaction"}, b"{}"))))
    assert (contents.event, contents.check_ins, contents.skipped) == (None, [], ["transaction"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (make_envelope(event_item(message="a"), event_item(message="b")), "envelope has more than one event item"),
        (make_envelope(({"type": "event"}, b"[1]")), "event item: payload is not a JSON object"),
        (make_envelope(({"type": "event"}, b"{oops")), "event item: invalid JSON"),
        (make_envelope(({"type": "check_in"}, b'"ok"')), "check_in item: payload is not a JSON object"),
    ],
)
def test_bad_event_items_are_400(body: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        extract_event(parse(body))
    assert info.value.status == 400
    assert info.value.reason.startswith(reason)


# --- event ids -----------------------------------------------------------------------------------------


def test_event_id_from_the_envelope_header_wins_over_the_payload() -> None:
    envelope = Envelope({"event_id": EVENT_ID})
    assert event_id_of(envelope, {"event_id": "ffffffffffffffffffffffffffffffff"}) == EVENT_ID


def test_event_id_falls_back_to_the_payload() -> None:
    assert event_id_of(Envelope({}), {"event_id": EVENT_ID}) == EVENT_ID
    assert event_id_of(None, {"event_id": EVENT_ID}) == EVENT_ID


@pytest.mark.parametrize(
    "value",
    [
        "9EC79C33EC9942AB8353589FCB2E04DC",
        "9ec79c33-ec99-42ab-8353-589fcb2e04dc",
        "9EC79C33-EC99-42AB-8353-589FCB2E04DC",
    ],
)
def test_event_id_is_normalised_to_32_lowercase_hex(value: str) -> None:
    assert event_id_of(Envelope({"event_id": value}), None) == EVENT_ID


def test_missing_event_id_is_generated() -> None:
    first, second = event_id_of(Envelope({}), {}), event_id_of(None, None)
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize(
    ("headers", "event", "reason"),
    [
        ({"event_id": "not-a-uuid"}, {}, "envelope header event_id: 'not-a-uuid' is not a UUID"),
        ({"event_id": EVENT_ID[:-1]}, {}, "envelope header event_id: "),
        ({"event_id": EVENT_ID + "0"}, {}, "envelope header event_id: "),
        ({"event_id": "{" + EVENT_ID + "}"}, {}, "envelope header event_id: "),
        ({"event_id": "9ec79c33ec9942ab8353589fcb2e04dg"}, {}, "envelope header event_id: "),
        ({"event_id": 12}, {}, "envelope header event_id: 12 is not a UUID"),
        ({}, {"event_id": "9ec79c33-ec9942ab8353589fcb2e04dc"}, "event event_id: "),
        ({}, {"event_id": ["x"]}, "event event_id: ['x'] is not a UUID"),
    ],
)
def test_invalid_event_id_is_400(headers: dict[str, Any], event: dict[str, Any], reason: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        event_id_of(Envelope(headers), event)
    assert info.value.status == 400
    assert info.value.reason.startswith(reason)


# --- the dsn header ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42",
            Dsn("e12d836b15bb49d7bbf99e64295d995b", "42", "sentry.io"),
        ),
        ("http://abc@127.0.0.1:8000/7", Dsn("abc", "7", "127.0.0.1")),
        ("https://abc:secret@errors.example.com/sub/path/123/", Dsn("abc", "123", "errors.example.com")),
    ],
)
def test_dsn_is_split_into_key_and_project(dsn: str, expected: Dsn) -> None:
    assert parse_dsn(dsn) == expected
    envelope = Envelope({"dsn": dsn})
    assert envelope_dsn(envelope) == expected
    assert dsn_public_key(envelope) == expected.public_key
    assert dsn_project_id(envelope) == expected.project_id


def test_envelope_without_dsn_has_no_key() -> None:
    assert dsn_public_key(Envelope({})) is None
    assert dsn_project_id(Envelope({"dsn": None})) is None
    check_dsn_project(Envelope({}), 42)


@pytest.mark.parametrize(
    ("dsn", "reason"),
    [
        (42, "invalid dsn 42: not a string"),
        ("sentry.io/42", "invalid dsn 'sentry.io/42': expected an http(s) URL with a host"),
        ("ftp://key@sentry.io/42", "invalid dsn 'ftp://key@sentry.io/42': expected an http(s) URL"),
        ("https://sentry.io/42", "invalid dsn 'https://sentry.io/42': no public key"),
        ("https://key@sentry.io/", "invalid dsn 'https://key@sentry.io/': no project id"),
        ("https://key@[::1/42", "invalid dsn 'https://key@[::1/42': Invalid IPv6 URL"),
    ],
)
def test_invalid_dsn_is_400(dsn: object, reason: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        dsn_public_key(Envelope({"dsn": dsn}))
    assert info.value.status == 400
    assert info.value.reason.startswith(reason)


def test_dsn_for_another_project_than_the_url_is_400() -> None:
    envelope = Envelope({"dsn": "https://abc@errors.example.com/43"})
    check_dsn_project(envelope, "43")
    check_dsn_project(envelope, 43)
    with pytest.raises(EnvelopeError) as info:
        check_dsn_project(envelope, 42)
    assert (info.value.status, info.value.reason) == (400, "dsn project id 43 does not match the URL's project id 42")


# --- envelopes from the real Python SDK ----------------------------------------------------------------


@contextmanager
def python_sdk(**options: Any) -> Iterator[list[bytes]]:
    """A sentry-sdk client whose transport keeps the serialized envelopes, active in an isolated scope."""
    sent: list[bytes] = []

    class KeepingTransport(Transport):
        def capture_envelope(self, envelope: SdkEnvelope) -> None:
            sent.append(envelope.serialize())

    client = sentry_sdk.Client(
        dsn=f"http://{PUBLIC_KEY}@127.0.0.1:9/42",
        transport=KeepingTransport,
        default_integrations=False,
        auto_session_tracking=False,
        release="shop@1.2.3",
        environment="production",
        **options,
    )
    try:
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            yield sent
    finally:
        client.close()


def divide(a: int, b: int) -> float:
    return a / b


def test_python_sdk_exception_with_an_attachment() -> None:
    attachment = b"line one\nline two\r\n\x00binary\n"
    with python_sdk() as sent:
        sentry_sdk.get_isolation_scope().add_attachment(bytes=attachment, filename="state.bin")
        try:
            divide(1, 0)
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
    [body] = sent
    envelope = parse(body)
    assert types(envelope) == ["event", "attachment"]
    assert envelope.items[1].payload == attachment
    assert envelope.items[1].headers["filename"] == "state.bin"
    contents = extract_event(envelope)
    assert contents.skipped == ["attachment"]
    assert contents.event is not None
    [exception] = contents.event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("ZeroDivisionError", "division by zero")
    assert exception["stacktrace"]["frames"][-1]["function"] == "divide"
    assert contents.event["release"] == "shop@1.2.3"
    assert event_id_of(envelope, contents.event) == envelope.headers["event_id"] == contents.event["event_id"]


def test_python_sdk_message_event() -> None:
    with python_sdk() as sent:
        sentry_sdk.capture_message("disk almost full", level="warning")
    [body] = sent
    contents = extract_event(parse(body))
    assert contents.event is not None
    assert (contents.event["message"], contents.event["level"]) == ("disk almost full", "warning")
    assert contents.skipped == []


def test_python_sdk_session_update() -> None:
    with python_sdk() as sent:
        scope = sentry_sdk.get_isolation_scope()
        scope.start_session(session_mode="application")
        try:
            divide(1, 0)
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
        scope.end_session()
    envelopes = [parse(body) for body in sent]
    assert [types(envelope) for envelope in envelopes] == [["event"], ["session"]]
    session_envelope = envelopes[1]
    assert session_envelope.headers == {}
    contents = extract_event(session_envelope)
    assert (contents.event, contents.skipped) == (None, ["session"])
    session = session_envelope.items[0].json()
    assert (session["status"], session["errors"], session["attrs"]["release"]) == ("exited", 1, "shop@1.2.3")


def test_python_sdk_check_in() -> None:
    from sentry_sdk.crons import capture_checkin

    with python_sdk() as sent:
        capture_checkin(monitor_slug="nightly-backup", status="ok", duration=12.5)
    [body] = sent
    contents = extract_event(parse(body))
    assert contents.event is None
    [check_in] = contents.check_ins
    assert (check_in["monitor_slug"], check_in["status"], check_in["duration"]) == ("nightly-backup", "ok", 12.5)


class _KeepRequests(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("algorithm", ["gzip", "br"])
def test_python_sdk_http_request_reads_authenticates_and_parses(algorithm: str) -> None:
    # The SDK's own HTTP transport, against a local server: compression, auth header and framing end to end.
    received: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Handler", (_KeepRequests,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = sentry_sdk.Client(
            dsn=f"http://{PUBLIC_KEY}@127.0.0.1:{server.server_port}/42",
            default_integrations=False,
            auto_session_tracking=False,
            _experiments={"transport_compression_algo": algorithm},
        )
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            sentry_sdk.capture_message("over the wire")
        client.flush(timeout=10)
        client.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    [(path, headers, raw)] = received
    assert path == "/api/42/envelope/"
    assert headers["Content-Encoding"] == algorithm

    async def chunks() -> AsyncIterator[bytes]:
        yield raw

    body = asyncio.run(
        read_body(
            chunks(),
            headers["Content-Encoding"],
            max_compressed=MAX_COMPRESSED_REQUEST_SIZE,
            max_decompressed=MAX_ENVELOPE_SIZE,
        )
    )
    envelope = parse(body)
    assert public_key_from_request(headers, {}, dsn_public_key(envelope)) == PUBLIC_KEY
    contents = extract_event(envelope)
    assert contents.event is not None and contents.event["message"] == "over the wire"


# --- envelopes as @sentry/browser sends them -----------------------------------------------------------
# Browser SDKs leave out `length` (the payloads are single-line JSON), send the dsn in the envelope header
# when a tunnel is used, and batch client reports and sessions in envelopes of their own.

BROWSER_ERROR = (
    b'{"event_id":"4f7c4bd2a1e7426b9c5a2e7c0d5f9a11","sent_at":"2024-05-02T09:30:01.123Z",'
    b'"sdk":{"name":"sentry.javascript.browser","version":"8.7.0"},'
    b'"dsn":"https://0123456789abcdef0123456789abcdef@errors.example.com/42",'
    b'"trace":{"environment":"production","release":"web@2.0.0","public_key":"0123456789abcdef0123456789abcdef",'
    b'"trace_id":"71a0ef1e3e4446e3b46a5bf5c3a1a2c4"}}\n'
    b'{"type":"event"}\n'
    b'{"exception":{"values":[{"type":"TypeError","value":"Cannot read properties of undefined (reading \'id\')",'
    b'"stacktrace":{"frames":[{"filename":"https://shop.example.com/assets/app.js","function":"loadCart",'
    b'"lineno":1,"colno":3412,"in_app":true}]},"mechanism":{"type":"onerror","handled":false}}]},'
    b'"level":"error","event_id":"4f7c4bd2a1e7426b9c5a2e7c0d5f9a11","platform":"javascript",'
    b'"request":{"url":"https://shop.example.com/cart","headers":{"User-Agent":"Mozilla/5.0"}},'
    b'"timestamp":1714642200.9,"environment":"production","release":"web@2.0.0",'
    b'"sdk":{"name":"sentry.javascript.browser","version":"8.7.0"}}\n'
)

BROWSER_SESSION_AND_REPORT = (
    b'{"sent_at":"2024-05-02T09:30:05.000Z","sdk":{"name":"sentry.javascript.browser","version":"8.7.0"}}\n'
    b'{"type":"session"}\n'
    b'{"sid":"0b1d7b2c7d2f4b8e9a3c0f8a6e5d4c3b","init":false,"started":"2024-05-02T09:29:00.000Z",'
    b'"timestamp":"2024-05-02T09:30:05.000Z","status":"ok","errors":1,"duration":65,'
    b'"attrs":{"release":"web@2.0.0","environment":"production","user_agent":"Mozilla/5.0"}}\n'
    b'{"type":"client_report"}\n'
    b'{"timestamp":1714642205,"discarded_events":[{"reason":"sample_rate","category":"transaction","quantity":3}]}'
)


def test_browser_error_envelope_without_lengths() -> None:
    envelope = parse(BROWSER_ERROR)
    assert types(envelope) == ["event"]
    assert dsn_public_key(envelope) == PUBLIC_KEY
    check_dsn_project(envelope, 42)
    contents = extract_event(envelope)
    assert contents.event is not None
    assert contents.event["exception"]["values"][0]["type"] == "TypeError"
    assert event_id_of(envelope, contents.event) == "4f7c4bd2a1e7426b9c5a2e7c0d5f9a11"


def test_browser_session_and_client_report_envelope_is_skipped() -> None:
    envelope = parse(BROWSER_SESSION_AND_REPORT)
    contents = extract_event(envelope)
    assert (contents.event, contents.skipped) == (None, ["session", "client_report"])
    assert envelope.items[1].json()["discarded_events"][0]["quantity"] == 3
