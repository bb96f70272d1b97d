"""Reading an ingest request body under size limits, decompressing it as it streams in."""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Protocol

import brotli

KIB = 1024
MIB = 1024 * KIB

# Sentry's documented ingestion limits (develop.sentry.dev, "Envelopes" > "Size Limits"), with the name
# of the matching Relay setting where Relay has one (relay-config `Limits`).
MAX_COMPRESSED_REQUEST_SIZE = 20 * MIB
"""A request body as sent, before decompression ("20MB for a compressed envelope request").

Not Relay's `max_api_payload_size` (also 20 MiB): that one covers Sentry's web API, not ingest.
"""
MAX_ENVELOPE_SIZE = 100 * MIB
"""A whole envelope after decompression: Relay `limits.max_envelope_size` (100 MiB; newer Relays 200 MiB)."""
MAX_EVENT_SIZE = 1 * MIB
"""One event item, and the whole body of a `/store/` request: Relay `limits.max_event_size`."""
MAX_CHECK_IN_SIZE = 100 * KIB
"""One monitor check-in item: Relay `limits.max_check_in_size`."""

# The most one decompression step may produce, so a bomb is stopped one step past the limit. Brotli treats
# its output limit as a soft one and can return up to about 1.5 times this.
_STEP = 64 * KIB
# Each layer is bounded anyway; this only keeps a silly header from building a long pipeline.
_MAX_CODINGS = 3
# Sent by some SDKs where no encoding is meant (Relay ignores them too): sentry-ruby 5.x sends an empty
# value, sentry-java for Android 2.0 sends "UTF-8".
_NO_CODING = frozenset({"", "identity", "utf-8"})
_ALIASES = {"x-gzip": "gzip"}

# brotli < 1.2 has no `output_buffer_limit` (it came with `can_accept_more_data`); without it a few bytes
# could expand to gigabytes in one call, so `br` is only offered when the bound exists.
_BROTLI_BOUNDED = hasattr(brotli.Decompressor, "can_accept_more_data")


class BodyError(Exception):
    """A request body that cannot be accepted: `status` is the HTTP status to answer, `reason` says why."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        # Extra response headers, e.g. `Accept-Encoding` on a 415 (RFC 7694).
        self.headers = headers or {}


def supported_encodings() -> list[str]:
    """The content codings `read_body` decodes, for an `Accept-Encoding` answer."""
    return ["gzip", "deflate", "br"] if _BROTLI_BOUNDED else ["gzip", "deflate"]


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


class _ZlibDecoder:
    """gzip (also several members in a row) or deflate, zlib-wrapped or raw: detected from the header."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._stream: zlib._Decompress | None = None
        self._head = b""  # first bytes of a stream, kept until its header can be recognised
        self._streams = 0  # streams that ended properly

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._stream is None:
                self._head += data
                if len(self._head) < 2:
                    return
                data, self._head = self._head, b""
                self._stream = self._open(data[:2])
            stream = self._stream
            while True:
                try:
                    piece = stream.decompress(data, _STEP)
                except zlib.error as exc:
                    raise self._invalid(str(exc)) from None
                data = stream.unconsumed_tail
                if piece:
                    yield piece
                if stream.eof:
                    # Whatever follows the end of the stream is a further gzip member, or an error.
                    self._streams += 1
                    self._stream = None
                    data = stream.unused_data
                    break
                # A full step may leave output inside zlib even when all input is taken: ask again.
                if not data and len(piece) < _STEP:
                    return

    def finish(self) -> Iterator[bytes]:
        if self._head and self._streams:
            raise self._invalid(f"unexpected data after the end of the {self.coding} stream")
        if self._stream is not None or self._head:
            raise self._invalid("truncated stream (unexpected end of data)")
        return iter(())

    def _open(self, magic: bytes) -> zlib._Decompress:
        if self.coding == "gzip":
            if self._streams == 0:
                # Also takes zlib data labelled gzip, as lenient servers do.
                return zlib.decompressobj(zlib.MAX_WBITS | 32)
            if magic != b"\x1f\x8b":
                raise self._invalid("unexpected data after the end of the gzip stream")
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        if self._streams:
            raise self._invalid("unexpected data after the end of the deflate stream")
        # RFC 9110 says "deflate" is zlib-wrapped (RFC 1950), but some clients send raw deflate (RFC 1951).
        return zlib.decompressobj(zlib.MAX_WBITS if _is_zlib_header(magic) else -zlib.MAX_WBITS)

    def _invalid(self, why: str) -> BodyError:
        return BodyError(400, f"invalid {self.coding} body: {why}")


def _is_zlib_header(magic: bytes) -> bool:
    cmf, flg = magic[0], magic[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


class _BrotliDecoder:
    coding = "br"

    def __init__(self) -> None:
        self._stream = brotli.Decompressor()
        self._fed = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed = True
        stream = self._stream
        try:
            if stream.is_finished():
                raise BodyError(400, "invalid br body: unexpected data after the end of the br stream")
            piece = stream.process(data, output_buffer_limit=_STEP)
            # Drain with empty input until a step yields nothing: `can_accept_more_data()` alone turns
            # true while a long back-reference still has output to give.
            while piece:
                yield piece
                piece = stream.process(b"", output_buffer_limit=_STEP)
        except brotli.error as exc:
            raise BodyError(400, f"invalid br body: {exc}") from None

    def finish(self) -> Iterator[bytes]:
        if self._fed and not self._stream.is_finished():
            raise BodyError(400, "invalid br body: truncated stream (unexpected end of data)")
        return iter(())


def _decoders(content_encoding: str | None) -> list[_Decoder]:
    """Decoders in the order to apply them: the last coding named in the header was applied last."""
    if content_encoding is None:
        return []
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [_ALIASES.get(c, c) for c in codings if c not in _NO_CODING]
    if len(codings) > _MAX_CODINGS:
        raise BodyError(400, f"too many content codings ({len(codings)}; at most {_MAX_CODINGS})")
    supported = supported_encodings()
    for coding in codings:
        if coding not in supported:
            # RFC 9110 section 15.5.16: an unsupported content coding is 415, as Relay (tower-http) answers.
            raise BodyError(
                415,
                f"unsupported content encoding {coding!r}; supported: {', '.join(supported)}",
                headers={"Accept-Encoding": ", ".join(supported)},
            )
    return [_BrotliDecoder() if c == "br" else _ZlibDecoder(c) for c in reversed(codings)]


def _push(decoders: list[_Decoder], data: bytes, start: int = 0) -> Iterator[bytes]:
    if start == len(decoders):
        yield data
        return
    for piece in decoders[start].feed(data):
        if piece:
            yield from _push(decoders, piece, start + 1)


def _finish(decoders: list[_Decoder]) -> Iterator[bytes]:
    # Finish the outermost layer first so anything it still yields passes through the inner ones.
    for index, decoder in enumerate(decoders):
        for piece in decoder.finish():
            yield from _push(decoders, piece, index + 1)


class BodyBudget:
    """The decoded body bytes all of a process's ingest requests hold at once, against a limit: each request's own
    limits bound one request, this bounds many large ones arriving together. Used from the event loop only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0

    def take(self, size: int, held: int) -> None:
        """Count `size` more bytes for a request that holds `held`; BodyError 503 past the limit. A request that holds
        all that is in use may always go on (up to its own limits), so a large envelope is never refused for ever."""
        if self.in_use + size > self.limit and self.in_use > held:
            raise BodyError(503, BUSY_REASON, headers={"Retry-After": "2"})
        self.in_use += size

    def give_back(self, size: int) -> None:
        self.in_use -= size


BUSY_REASON = "the collector is reading too many large bodies at once, retry later"
Reserve = Callable[[int], None]


class _Collector:
    def __init__(self, limit: int, what: str, reserve: Reserve | None = None) -> None:
        self.out = bytearray()
        self.limit = limit
        self.what = what
        self.reserve = reserve

    def take(self, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            # Checked before appending, so memory never holds more than the limit.
            if len(self.out) + len(piece) > self.limit:
                raise BodyError(413, f"{self.what} exceeds {self.limit} bytes")
            if self.reserve is not None:
                self.reserve(len(piece))
            self.out += piece


async def read_body(
    chunks: AsyncIterator[bytes],
    content_encoding: str | None,
    *,
    max_compressed: int,
    max_decompressed: int,
    reserve: Reserve | None = None,
) -> bytes:
    """Read and decode a request body, failing as soon as a limit is passed.

    `chunks` is the body as it arrives (Starlette's `request.stream()`); `content_encoding` the raw
    `Content-Encoding` header; `reserve` is called with the size of each decoded piece before it is kept (a
    process-wide BodyBudget's, through RawRequest.reserve). Raises `BodyError`: 413 past `max_compressed` bytes
    received or `max_decompressed` bytes decoded, 400 for a corrupt or truncated stream, 415 for an unknown coding,
    and whatever `reserve` raises.
    """
    decoders = _decoders(content_encoding)
    collector = _Collector(max_decompressed, "decompressed request body" if decoders else "request body", reserve)
    received = 0
    async for chunk in chunks:
        if not chunk:
            continue
        received += len(chunk)
        if received > max_compressed:
            raise BodyError(413, f"request body exceeds {max_compressed} bytes")
        collector.take(_push(decoders, chunk))
    collector.take(_finish(decoders))
    return bytes(collector.out)


def decode_legacy_store_body(body: bytes, *, max_size: int = MAX_EVENT_SIZE) -> bytes:
    """The JSON of a `/store/` body, undoing the base64 (optionally of zlib data) that old SDKs sent.

    A body that already looks like JSON (or is empty) comes back unchanged. Raises `BodyError`: 400 if
    the body is neither JSON nor such an encoding, 413 if it decompresses past `max_size` bytes.
    """
    stripped = body.lstrip()
    if not stripped or stripped.startswith(b"{"):
        return body
    try:
        raw = base64.b64decode(b"".join(stripped.split()), validate=True)
    except binascii.Error:
        raise BodyError(400, "invalid store body: neither JSON nor base64") from None
    if raw.lstrip().startswith(b"{"):
        return raw
    decoder = _ZlibDecoder("deflate")
    collector = _Collector(max_size, "decompressed store body")
    try:
        collector.take(decoder.feed(raw))
        collector.take(decoder.finish())
    except BodyError as exc:
        if exc.status != 400:
            raise
        raise BodyError(400, f"invalid store body: base64 data is neither JSON nor zlib ({exc.reason})") from None
    return bytes(collector.out)
