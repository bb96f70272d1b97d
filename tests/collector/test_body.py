"""Reading request bodies: content codings, streaming size limits, bombs, corrupt streams, legacy store bodies."""

from __future__ import annotations

import asyncio
import base64
import gzip
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable

import brotli
import pytest

from collector import body as body_module
from collector.body import (
    MAX_COMPRESSED_REQUEST_SIZE,
    MIB,
    BodyBudget,
    BodyError,
    decode_legacy_store_body,
    read_body,
)

KIB = 1024
EVENT = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","message":"hello world","level":"error"}\n' * 50
ZEROS_MIB = bytes(MIB)


async def stream(data: bytes, chunk_size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]


def read(
    data: bytes,
    encoding: str | None,
    *,
    chunk_size: int = 1000,
    max_compressed: int = 100 * MIB,
    max_decompressed: int = 100 * MIB,
) -> bytes:
    return asyncio.run(
        read_body(
            stream(data, chunk_size),
            encoding,
            max_compressed=max_compressed,
            max_decompressed=max_decompressed,
        )
    )


def read_error(data: bytes, encoding: str | None, **limits: int) -> BodyError:
    with pytest.raises(BodyError) as info:
        read(data, encoding, **limits)
    return info.value


def zlib_compress(data: bytes) -> bytes:
    return zlib.compress(data)


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zeros_deflate_body(mib: int) -> bytes:
    """Raw deflate of `mib` MiB of zeros, built from one self-contained block so the zeros never exist."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    # A full flush ends the block on a byte boundary with no back-references, so the block can repeat.
    block = compressor.compress(ZEROS_MIB) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mib + compressor.flush()


def gzip_bomb(mib: int) -> bytes:
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(ZEROS_MIB, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + zeros_deflate_body(mib) + struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)


def zlib_bomb(mib: int) -> bytes:
    adler = 1
    for _ in range(mib):
        adler = zlib.adler32(ZEROS_MIB, adler)
    return b"\x78\xda" + zeros_deflate_body(mib) + struct.pack(">I", adler)


def brotli_bomb(mib: int) -> bytes:
    compressor = brotli.Compressor(quality=1)
    parts = [compressor.process(ZEROS_MIB) for _ in range(mib)]
    return b"".join([*parts, compressor.finish()])


# --- content codings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda data: data),
        ("", lambda data: data),
        ("identity", lambda data: data),
        ("UTF-8", lambda data: data),  # what sentry-java for Android 2.0 sends
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZIP", gzip.compress),
        ("gzip", zlib_compress),  # zlib data labelled gzip
        ("deflate", zlib_compress),
        ("deflate", raw_deflate),
        ("br", brotli.compress),
        (" br ", brotli.compress),
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
        ("deflate, gzip", lambda data: gzip.compress(zlib_compress(data))),
        ("identity, gzip", gzip.compress),
        ("gzip", lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:])),  # two members
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 7, 64 * KIB])
def test_decodes_each_coding(encoding: str | None, encode: Callable[[bytes], bytes], chunk_size: int) -> None:
    assert read(encode(EVENT), encoding, chunk_size=chunk_size) == EVENT


def test_empty_body_stays_empty_whatever_the_coding() -> None:
    for encoding in (None, "gzip", "deflate", "br"):
        assert read(b"", encoding) == b""


@pytest.mark.parametrize("encoding", ["zstd", "compress", "gzip, zstd", "bzip2"])
def test_unknown_coding_is_415_naming_the_supported_ones(encoding: str) -> None:
    error = read_error(gzip.compress(EVENT), encoding)
    assert error.status == 415
    assert "unsupported content encoding" in error.reason
    assert error.headers == {"Accept-Encoding": "gzip, deflate, br"}


def test_too_many_codings_is_400() -> None:
    error = read_error(EVENT, "gzip, gzip, gzip, gzip")
    assert (error.status, error.reason) == (400, "too many content codings (4; at most 3)")


def test_br_is_refused_when_brotli_cannot_bound_its_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body_module, "_BROTLI_BOUNDED", False)
    error = read_error(brotli.compress(EVENT), "br")
    assert error.status == 415
    assert error.headers == {"Accept-Encoding": "gzip, deflate"}
    assert read(gzip.compress(EVENT), "gzip") == EVENT


# --- corrupt and truncated streams ---------------------------------------------------------------------


def flip_middle_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


# The bodies are part of the test ids, which the parallel test processes must collect alike: gzip's header holds the
# time of compression unless mtime says otherwise.
@pytest.mark.parametrize(
    ("encoding", "data", "reason"),
    [
        ("gzip", gzip.compress(EVENT, mtime=0)[:-5], "invalid gzip body: truncated stream (unexpected end of data)"),
        ("gzip", gzip.compress(EVENT, mtime=0)[:1], "invalid gzip body: truncated stream (unexpected end of data)"),
        (
            "gzip",
            gzip.compress(EVENT, mtime=0) + b"junk",
            "invalid gzip body: unexpected data after the end of the gzip stream",
        ),
        (
            "gzip",
            gzip.compress(EVENT, mtime=0) + b"j",
            "invalid gzip body: unexpected data after the end of the gzip stream",
        ),
        ("gzip", EVENT, "invalid gzip body: Error -3 while decompressing data: incorrect header check"),
        ("gzip", flip_middle_byte(gzip.compress(EVENT, mtime=0)), "invalid gzip body: "),
        ("deflate", zlib_compress(EVENT)[:-3], "invalid deflate body: truncated stream (unexpected end of data)"),
        ("deflate", raw_deflate(EVENT)[:-3], "invalid deflate body: truncated stream (unexpected end of data)"),
        ("deflate", zlib_compress(EVENT) + b"xx", "invalid deflate body: unexpected data after the end of the deflate"),
        ("deflate", zlib_compress(EVENT) + b"x", "invalid deflate body: unexpected data after the end of the deflate"),
        ("deflate", flip_middle_byte(zlib_compress(EVENT)), "invalid deflate body: "),
        ("br", brotli.compress(EVENT)[:-2], "invalid br body: truncated stream (unexpected end of data)"),
        ("br", brotli.compress(EVENT) + b"junk", "invalid br body: "),
        ("br", b"\xff" * 40, "invalid br body: "),
        ("gzip, br", brotli.compress(gzip.compress(EVENT, mtime=0)[:-4]), "invalid gzip body: truncated stream"),
    ],
)
def test_corrupt_or_truncated_stream_is_400_with_reason(encoding: str, data: bytes, reason: str) -> None:
    error = read_error(data, encoding)
    assert error.status == 400
    assert error.reason.startswith(reason)


# --- size limits ---------------------------------------------------------------------------------------


def test_body_at_the_limits_is_accepted() -> None:
    compressed = gzip.compress(EVENT)
    assert read(compressed, "gzip", max_compressed=len(compressed), max_decompressed=len(EVENT)) == EVENT


def test_compressed_size_is_checked_as_chunks_arrive() -> None:
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while True:
            chunks_sent += 1
            yield b"x" * 1000

    with pytest.raises(BodyError) as info:
        asyncio.run(read_body(endless(), None, max_compressed=10_000, max_decompressed=MIB))
    assert (info.value.status, info.value.reason) == (413, "request body exceeds 10000 bytes")
    assert chunks_sent == 11


def test_plain_body_over_the_decompressed_limit_is_413() -> None:
    error = read_error(EVENT, None, max_decompressed=100)
    assert (error.status, error.reason) == (413, "request body exceeds 100 bytes")


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("deflate", raw_deflate), ("br", brotli.compress)],
)
def test_decompressed_size_is_checked(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    error = read_error(encode(EVENT), encoding, max_decompressed=len(EVENT) - 1)
    assert (error.status, error.reason) == (413, f"decompressed request body exceeds {len(EVENT) - 1} bytes")


def test_the_bomb_builders_make_valid_streams() -> None:
    # So that the bomb tests below fail on the limit, not on a malformed stream.
    assert read(gzip_bomb(3), "gzip", chunk_size=64 * KIB) == bytes(3 * MIB)
    assert read(zlib_bomb(3), "deflate", chunk_size=64 * KIB) == bytes(3 * MIB)
    assert read(brotli_bomb(3), "br", chunk_size=64 * KIB) == bytes(3 * MIB)


def gzip_bomb_in_brotli(mib: int) -> bytes:
    return brotli.compress(gzip_bomb(mib))


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [("gzip", gzip_bomb), ("deflate", zlib_bomb), ("br", brotli_bomb), ("gzip, br", gzip_bomb_in_brotli)],
)
def test_a_one_gib_bomb_is_stopped_at_the_limit_with_bounded_memory(
    encoding: str, bomb: Callable[[int], bytes]
) -> None:
    data = bomb(1024)  # 1 GiB of zeros
    assert len(data) <= 2 * MIB
    chunk_size = 64 * KIB
    chunks_read = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        for start in range(0, len(data), chunk_size):
            chunks_read += 1
            yield data[start : start + chunk_size]

    limit = 10 * MIB
    tracemalloc.start()
    try:
        with pytest.raises(BodyError) as info:
            asyncio.run(
                read_body(chunks(), encoding, max_compressed=MAX_COMPRESSED_REQUEST_SIZE, max_decompressed=limit)
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (info.value.status, info.value.reason) == (413, f"decompressed request body exceeds {limit} bytes")
    # The limit plus the output buffer's slack and a few steps, against the 1 GiB a naive decode holds.
    assert peak < limit + 4 * MIB
    # The first 64 KiB already decode to more than the limit: nothing more is read.
    assert chunks_read == 1


# --- legacy /store/ bodies -----------------------------------------------------------------------------

STORE_EVENT = b'{"message":"hello","level":"error"}'


@pytest.mark.parametrize(
    "body",
    [
        STORE_EVENT,
        b"  \n" + STORE_EVENT,
        base64.b64encode(STORE_EVENT),
        base64.b64encode(zlib.compress(STORE_EVENT)),
        base64.encodebytes(zlib.compress(STORE_EVENT * 20))[:-1],  # wrapped at 76 columns
        base64.b64encode(raw_deflate(STORE_EVENT)),
    ],
)
def test_legacy_store_body_is_decoded_to_json(body: bytes) -> None:
    decoded = decode_legacy_store_body(body)
    assert decoded.lstrip().startswith(STORE_EVENT)
    assert decoded.strip().replace(STORE_EVENT, b"") == b""


def test_empty_legacy_store_body_stays_empty() -> None:
    assert decode_legacy_store_body(b"") == b""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json, not base64!", "invalid store body: neither JSON nor base64"),
        (base64.b64encode(b"plain text"), "invalid store body: base64 data is neither JSON nor zlib"),
        (base64.b64encode(zlib.compress(STORE_EVENT)[:-4]), "invalid store body: base64 data is neither JSON"),
    ],
)
def test_undecodable_legacy_store_body_is_400(body: bytes, reason: str) -> None:
    with pytest.raises(BodyError) as info:
        decode_legacy_store_body(body)
    assert info.value.status == 400
    assert info.value.reason.startswith(reason)


def test_legacy_store_zlib_bomb_is_413() -> None:
    with pytest.raises(BodyError) as info:
        decode_legacy_store_body(base64.b64encode(zlib_bomb(64)), max_size=MIB)
    assert (info.value.status, info.value.reason) == (413, f"decompressed store body exceeds {MIB} bytes")


def test_the_body_budget_counts_decoded_bytes_and_refuses_past_it_unless_the_request_holds_all_in_use() -> None:
    budget = BodyBudget(limit=100 * KIB)
    first_held = 0

    def first(size: int) -> None:
        nonlocal first_held
        budget.take(size, first_held)
        first_held += size

    # Counted as decoded: a gzip body of a few KiB takes its 80 KiB.
    reading = read_body(
        stream(gzip.compress(bytes(80 * KIB))), "gzip", max_compressed=MIB, max_decompressed=MIB, reserve=first
    )
    assert len(asyncio.run(reading)) == 80 * KIB
    assert (budget.in_use, first_held) == (80 * KIB, 80 * KIB)
    with pytest.raises(BodyError) as refused:
        budget.take(30 * KIB, 0)  # another request would pass the limit
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "2"}
    budget.take(500 * KIB, first_held)  # the request holding all in use goes on past it
    budget.give_back(first_held + 500 * KIB)
    assert budget.in_use == 0
    budget.take(30 * KIB, 0)
