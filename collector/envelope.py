"""Parsing Sentry envelopes (develop.sentry.dev, "Envelopes") and picking out the parts errlog keeps."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from collector import fastjson
from collector.body import MAX_CHECK_IN_SIZE, MAX_EVENT_SIZE

MAX_ENVELOPE_ITEMS = 1000
"""More items than any SDK sends in one envelope; bounds the work a body of tiny items can cause."""
MAX_HEADER_SIZE = 64 * 1024
"""Envelope and item headers are a few hundred bytes of JSON; anything near this is not a header."""

_EVENT_ID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NOT_BLANK = re.compile(rb"[^ \t\r\n]")


class EnvelopeError(Exception):
    """An envelope that cannot be accepted: `status` is the HTTP status to answer (400 or 413)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _nan_to_none(token: str) -> None:
    # Some Python clients write NaN and Infinity, which are not JSON; null keeps the event storable.
    return None


def _loads(data: bytes, what: str) -> Any:
    return fastjson.loads(data, lambda raw: _standard_loads(raw, what))


def _standard_loads(data: bytes, what: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EnvelopeError(f"{what}: invalid UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_nan_to_none)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, integers longer than Python converts, nesting
        raise EnvelopeError(f"{what}: {fastjson.problem(exc)}") from None


@dataclass
class Item:
    """One envelope item: its headers (always with a string `type`) and its raw payload."""

    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        return str(self.headers["type"])

    def json(self) -> Any:
        """The payload parsed as UTF-8 JSON; raises `EnvelopeError` saying what is wrong with it."""
        return _loads(self.payload, f"{self.type} item")


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)


def _headers(line: bytes, what: str) -> dict[str, Any]:
    if len(line) > MAX_HEADER_SIZE:
        raise EnvelopeError(f"{what} is longer than {MAX_HEADER_SIZE} bytes")
    value = _loads(line, what)
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} is not a JSON object")
    return value


def _line_end(body: bytes, start: int) -> int:
    end = body.find(b"\n", start)
    return len(body) if end < 0 else end


def parse_envelope(
    body: bytes,
    *,
    max_item_size: int,
    max_event_size: int = MAX_EVENT_SIZE,
    max_items: int = MAX_ENVELOPE_ITEMS,
) -> Envelope:
    """Split an envelope into its headers and items, checking the framing and the size limits.

    Every item payload is limited to `max_item_size` bytes, an `event` item also to `max_event_size`
    and a `check_in` item to `MAX_CHECK_IN_SIZE`; past a limit, or past `max_items` items, the
    `EnvelopeError` has status 413, otherwise 400. Items are numbered from 1 in messages.
    """
    if not body.strip():
        raise EnvelopeError("empty envelope")
    size = len(body)
    line_end = _line_end(body, 0)
    headers = _headers(body[:line_end], "envelope header")
    items: list[Item] = []
    pos = line_end + 1
    while True:
        # Like Relay, tolerate blank lines before an item header, and so trailing newlines at the end.
        next_text = _NOT_BLANK.search(body, pos)
        if next_text is None:
            break
        pos = next_text.start()
        number = len(items) + 1
        if number > max_items:
            raise EnvelopeError(f"envelope has more than {max_items} items", status=413)
        line_end = _line_end(body, pos)
        item_headers = _headers(body[pos:line_end], f"item {number} header")
        item_type = item_headers.get("type")
        if not isinstance(item_type, str) or not item_type:
            raise EnvelopeError(f'item {number} header: "type" must be a non-empty string')
        what = f"item {number} ({item_type})"
        start = min(line_end + 1, size)
        length = item_headers.get("length")
        if length is not None:
            if type(length) is not int or length < 0:
                raise EnvelopeError(f'{what}: "length" must be a non-negative integer, not {length!r}')
            if length > size - start:
                raise EnvelopeError(f"{what}: length {length} exceeds remaining {size - start} bytes")
            stop = start + length
            if stop < size and body[stop] != 0x0A:
                raise EnvelopeError(f"{what}: payload of length {length} is not followed by a newline")
        else:
            # Without a length the payload runs to the next newline; a "\r" before it stays in the payload.
            stop = _line_end(body, start)
        # The kept items get their own limits (Relay `limits.max_event_size`, `limits.max_check_in_size`);
        # skipped items only the general one, so an oversized one of those never costs an event.
        limit = max_item_size
        if item_type == "event":
            limit = min(limit, max_event_size)
        elif item_type == "check_in":
            limit = min(limit, MAX_CHECK_IN_SIZE)
        if stop - start > limit:
            raise EnvelopeError(f"{what}: payload of {stop - start} bytes exceeds {limit} bytes", status=413)
        items.append(Item(item_headers, body[start:stop]))
        pos = stop + 1
    return Envelope(headers, items)


@dataclass
class EnvelopeContents:
    """What errlog keeps from an envelope: at most one event, the check-ins, and which item types it skipped."""

    event: dict[str, Any] | None
    check_ins: list[dict[str, Any]]
    skipped: list[str]


def _json_object(item: Item) -> dict[str, Any]:
    value = item.json()
    if not isinstance(value, dict):
        raise EnvelopeError(f"{item.type} item: payload is not a JSON object")
    return value


def extract_event(envelope: Envelope) -> EnvelopeContents:
    """The event and check-ins of an envelope; every other item type is accepted and skipped.

    Only items of type `event` hold errors (the spec has no `error` item type). More than one event
    item is a 400, as the spec allows at most one per envelope.
    """
    event: dict[str, Any] | None = None
    check_ins: list[dict[str, Any]] = []
    skipped: list[str] = []
    for item in envelope.items:
        if item.type == "event":
            if event is not None:
                raise EnvelopeError("envelope has more than one event item")
            event = _json_object(item)
        elif item.type == "check_in":
            check_ins.append(_json_object(item))
        else:
            skipped.append(item.type)
    return EnvelopeContents(event, check_ins, skipped)


def parse_event_id(value: object, where: str = "event_id") -> str:
    """A UUID as Sentry writes it (32 hex digits, dashes allowed) as 32 lowercase hex digits."""
    if not isinstance(value, str) or not _EVENT_ID.fullmatch(value):
        raise EnvelopeError(f"{where}: {value!r} is not a UUID (32 hex digits)")
    return value.replace("-", "").lower()


def event_id_of(envelope: Envelope | None, event: Mapping[str, Any] | None) -> str:
    """The event's id: the envelope header's, else the payload's, else a new one.

    The envelope header wins when both are set, as the spec says ("Envelope Items" > Event). Only the
    id that is used is validated; an invalid one is a 400.
    """
    if envelope is not None and envelope.headers.get("event_id") is not None:
        return parse_event_id(envelope.headers["event_id"], "envelope header event_id")
    if event is not None and event.get("event_id") is not None:
        return parse_event_id(event["event_id"], "event event_id")
    # An SDK that sends no id cannot be deduplicated on retry; Relay makes one up as well.
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Dsn:
    public_key: str
    project_id: str
    host: str


def parse_dsn(value: object) -> Dsn:
    """Split a DSN `scheme://public_key[:secret]@host[:port][/path]/project_id`; `EnvelopeError` if invalid."""
    if not isinstance(value, str):
        raise EnvelopeError(f"invalid dsn {value!r}: not a string")
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
        key = parts.username
    except ValueError as exc:
        raise EnvelopeError(f"invalid dsn {value!r}: {exc}") from None
    project_id = parts.path.rstrip("/").rpartition("/")[2]
    if parts.scheme not in ("http", "https") or not host:
        raise EnvelopeError(f"invalid dsn {value!r}: expected an http(s) URL with a host")
    if not key:
        raise EnvelopeError(f"invalid dsn {value!r}: no public key")
    if not project_id:
        raise EnvelopeError(f"invalid dsn {value!r}: no project id")
    return Dsn(public_key=key, project_id=project_id, host=host)


def envelope_dsn(envelope: Envelope) -> Dsn | None:
    """The DSN an envelope authenticates itself with (its `dsn` header), if it has one."""
    value = envelope.headers.get("dsn")
    return None if value is None else parse_dsn(value)


def dsn_public_key(envelope: Envelope) -> str | None:
    dsn = envelope_dsn(envelope)
    return None if dsn is None else dsn.public_key


def dsn_project_id(envelope: Envelope) -> str | None:
    dsn = envelope_dsn(envelope)
    return None if dsn is None else dsn.project_id


def check_dsn_project(envelope: Envelope, url_project_id: str | int) -> None:
    """Reject an envelope whose `dsn` header names another project than the URL (Relay answers 400 too)."""
    project_id = dsn_project_id(envelope)
    if project_id is not None and project_id != str(url_project_id):
        raise EnvelopeError(f"dsn project id {project_id} does not match the URL's project id {url_project_id}")
