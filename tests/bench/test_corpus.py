"""The corpus reader and the request bodies made from its envelopes."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import zlib
from collections.abc import AsyncIterator

import brotli
import pytest

from bench.corpus import Body, CorpusError, Record, deflate_part, read_corpus, sent_now, stored_block
from collector.body import read_body
from collector.envelope import event_id_of, extract_event, parse_envelope
from tests.bench.factories import NEW_ID, OLD_ID, make_record, record_line, write_corpus


def decode(body: bytes, encoding: str) -> bytes:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):  # small chunks: members must decode across chunk boundaries
            yield body[start : start + 7]

    return asyncio.run(read_body(chunks(), encoding, max_compressed=1 << 20, max_decompressed=1 << 20))


def test_render_puts_the_new_id_in_the_header_and_the_event_and_says_it_was_sent_now():
    body = Body(make_record()).render(NEW_ID)
    envelope = parse_envelope(body, max_item_size=1 << 20)
    event = extract_event(envelope).event
    assert event_id_of(envelope, event) == NEW_ID
    assert event["event_id"] == NEW_ID
    assert OLD_ID.encode() not in body
    assert len(body) == len(make_record().envelope)
    # The record says 2024: replayed as it is, the collector would correct every event for a clock years behind.
    sent = dt.datetime.fromisoformat(envelope.headers["sent_at"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.UTC) - sent) < dt.timedelta(minutes=1)


def test_sent_now_keeps_the_length_of_the_time_it_replaces():
    now = dt.datetime(2026, 11, 29, 19, 45, 1, 250_000, tzinfo=dt.UTC)
    long = b'{"event_id":"x","sent_at":"2026-11-29T18:41:18.862606Z"}\n{"sent_at":"item"}'
    assert sent_now(long, now) == b'{"event_id":"x","sent_at":"2026-11-29T19:45:01.250000Z"}\n{"sent_at":"item"}'
    assert sent_now(b'{"sent_at": "2024-01-01T00:00:00Z"}', now) == b'{"sent_at": "2026-11-29T19:45:01Z"}'
    assert sent_now(b'{"event_id":"x"}\n{}', now) == b'{"event_id":"x"}\n{}'


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_compressed_bodies_decode_in_the_collector_to_the_identity_body(encoding):
    record = make_record()
    expected = Body(record).render(NEW_ID)
    assert decode(Body(record, encoding).render(NEW_ID), encoding) == expected


def test_gzip_body_is_one_member_as_sdks_send_it():
    body = Body(make_record(), "gzip").render(NEW_ID)
    assert body.count(b"\x1f\x8b\x08") == 1
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert decompressor.decompress(body) == Body(make_record()).render(NEW_ID)
    assert decompressor.eof and decompressor.unused_data == b""
    # Each send carries its own id and a checksum over it: gzip refuses the body if either is off.
    other = Body(make_record(), "gzip").render("f" * 32)
    assert gzip.decompress(other) == Body(make_record()).render("f" * 32)
    with pytest.raises(gzip.BadGzipFile, match="CRC check failed"):
        gzip.decompress(body.replace(NEW_ID.encode(), b"f" * 32))


def test_deflate_parts_and_stored_blocks_make_one_stream_and_oversized_blocks_are_refused():
    stream = deflate_part(b"hello ", final=False) + stored_block(b"there") + deflate_part(b" again", final=True)
    assert zlib.decompress(stream, -zlib.MAX_WBITS) == b"hello there again"
    assert zlib.decompress(stored_block(b"", final=True), -zlib.MAX_WBITS) == b""
    with pytest.raises(ValueError, match="65535"):
        stored_block(b"x" * 70_000)


def test_body_refuses_an_unknown_encoding_and_an_envelope_without_its_id():
    with pytest.raises(ValueError, match="unknown encoding"):
        Body(make_record(), "zstd")
    record = make_record()
    stray = Record(record.site, record.kind, record.deploy, NEW_ID, record.envelope)
    with pytest.raises(CorpusError, match="not in its envelope"):
        Body(stray)


def test_read_corpus_returns_records_in_file_order(tmp_path):
    first, second = make_record(), make_record(site="s0002:x.y")
    path = write_corpus(tmp_path / "c.jsonl.gz", [record_line(first), record_line(second)])
    assert read_corpus(path) == [first, second]


def test_read_corpus_names_the_bad_line_and_the_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="make one with"):
        read_corpus(tmp_path / "absent.jsonl.gz")
    path = write_corpus(tmp_path / "bad.jsonl.gz", ['{"site": "x"}'])
    with pytest.raises(CorpusError, match="line 1"):
        read_corpus(path)
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_text("not gzip")
    with pytest.raises(CorpusError, match="cannot read"):
        read_corpus(plain)


def test_brotli_body_is_what_the_sdk_sends():
    body = Body(make_record(), "br").render(NEW_ID)
    assert brotli.decompress(body) == Body(make_record()).render(NEW_ID)
