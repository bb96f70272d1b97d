"""Reading the corpus, and turning its envelopes into request bodies that each carry a new event id."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import json
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import brotli

DEFAULT_CORPUS = Path(__file__).resolve().parent / "corpus" / "envelopes.jsonl.gz"
ENCODINGS = ("identity", "gzip", "br")


class CorpusError(Exception):
    """The corpus file is missing or not what make_corpus.py writes."""


@dataclass(frozen=True)
class Record:
    site: str
    kind: str
    deploy: int
    event_id: str
    envelope: bytes


def read_corpus(path: Path) -> list[Record]:
    """Every record of the corpus at `path`, in file order."""
    if not path.exists():
        raise CorpusError(f"no corpus at {path}: make one with `python -m bench.make_corpus --out {path}`")
    records = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    raw = json.loads(line)
                    records.append(
                        Record(
                            site=raw["site"],
                            kind=raw["kind"],
                            deploy=int(raw["deploy"]),
                            event_id=raw["event_id"],
                            envelope=base64.b64decode(raw["envelope"], validate=True),
                        )
                    )
                except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                    raise CorpusError(f"{path}, line {number}: not a corpus record ({exc})") from None
    except (OSError, EOFError) as exc:
        raise CorpusError(f"cannot read corpus {path}: {exc}") from None
    if not records:
        raise CorpusError(f"the corpus {path} is empty")
    return records


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no flags, no mtime, unknown OS


def stored_block(data: bytes, *, final: bool = False) -> bytes:
    """`data` as a stored deflate block (RFC 1951 §3.2.4), for a stream that is at a byte boundary."""
    if len(data) > 0xFFFF:
        raise ValueError("a stored block holds at most 65535 bytes")
    return (b"\x01" if final else b"\x00") + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


def deflate_part(data: bytes, *, final: bool) -> bytes:
    """`data` as raw deflate blocks that refer to nothing before them and, unless `final`, end at a byte boundary
    without ending the stream (a full flush), so that other blocks can follow."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


_SENT_AT = re.compile(rb'("sent_at":\s*")([^"\n]*)(")')


def sent_now(envelope: bytes, now: dt.datetime | None = None) -> bytes:
    """`envelope` with its header's `sent_at` set to `now`, written as long as before. A replayed envelope says it
    was sent when the corpus was made; the collector would take that for a device's clock hours off and move the
    event's times (collector/normalize.py, MIN_CLOCK_DRIFT), which no live SDK's events cost it."""
    header, newline, rest = envelope.partition(b"\n")
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)

    def fresh(match: re.Match[bytes]) -> bytes:
        old = match[2]
        spec = "microseconds" if len(old) == len("2026-01-01T00:00:00.000000Z") else "seconds"
        return match[1] + moment.isoformat(timespec=spec).replace("+00:00", "Z").encode() + match[3]

    return _SENT_AT.sub(fresh, header, count=1) + newline + rest


class Body:
    """One envelope as a request body, with its event id swapped for a fresh one on every call.

    The id is 32 hex digits in both the envelope header and the event, so the swap keeps every length,
    including the item header's. For gzip the parts between the ids are compressed once, up front, each on its own
    (a full flush ends each but the last), and every send puts the new id between them as a stored block: one gzip
    member, as SDKs send, whose checksum is all the generator computes per request, so it stays cheap enough not to
    be what is measured.
    """

    def __init__(self, record: Record, encoding: str = "identity") -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
        marker = record.event_id.encode("ascii")
        self.encoding = encoding
        self.parts = sent_now(record.envelope).split(marker)
        if len(self.parts) < 2:
            raise CorpusError(f"event id {record.event_id} is not in its envelope (site {record.site})")
        last = len(self.parts) - 1
        self.compressed = [deflate_part(part, final=i == last) for i, part in enumerate(self.parts)]

    def render(self, event_id: str) -> bytes:
        marker = event_id.encode("ascii")
        if self.encoding == "identity":
            return marker.join(self.parts)
        if self.encoding == "br":
            # What the Python SDK itself sends when brotli is installed (quality 4); costs the generator more.
            return bytes(brotli.compress(marker.join(self.parts), quality=4))
        plain = marker.join(self.parts)
        trailer = struct.pack("<II", zlib.crc32(plain), len(plain) & 0xFFFFFFFF)
        return _GZIP_HEADER + stored_block(marker).join(self.compressed) + trailer
