"""The load generator's lean HTTP/1.1 client against small scripted servers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from bench.rawhttp import RawClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
# bench.ingest runs the client on uvloop, which calls connection_made only after create_connection has returned.
LOOPS = [pytest.param(asyncio.run, id="asyncio"), pytest.param(uvloop.run, id="uvloop")]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


def answer(body: bytes, *, status: str = "200 OK", close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n%s" % (status.encode(), len(body), connection, body)


async def with_server(handler: Handler, test: Callable[[int], Awaitable[None]]) -> None:
    """Run `test` against a server of `handler`; every server-side connection is closed afterwards."""
    tasks: list[asyncio.Task[None]] = []
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        await handler(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        await test(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await server.wait_closed()


@pytest.mark.parametrize("run", LOOPS)
def test_posts_over_one_kept_alive_connection_and_returns_status_and_body(run):
    connections: list[int] = []
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            try:
                head, body = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            seen.append(head + body)
            writer.write(answer(b'{"id":"%d"}' % len(seen)))
            await writer.drain()
        writer.close()

    async def test(port: int) -> None:
        client = RawClient("127.0.0.1", port, {"X-Sentry-Auth": "Sentry sentry_key=k"})
        assert await client.post("/api/1/envelope/", b"first") == (200, b'{"id":"1"}')
        assert await client.post("/api/1/envelope/", b"second!") == (200, b'{"id":"2"}')
        await client.aclose()

    run(with_server(handler, test))
    assert len(connections) == 1
    assert seen[0].startswith(b"POST /api/1/envelope/ HTTP/1.1\r\n")
    assert b"X-Sentry-Auth: Sentry sentry_key=k\r\n" in seen[0]
    assert seen[0].endswith(b"Content-Length: 5\r\n\r\nfirst")
    assert seen[1].endswith(b"second!")


@pytest.mark.parametrize("run", LOOPS)
def test_reconnects_after_the_server_says_connection_close(run):
    connections: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await read_request(reader)
        writer.write(answer(b"busy", status="503 Service Unavailable", close=True))
        await writer.drain()
        writer.close()

    async def test(port: int) -> None:
        client = RawClient("127.0.0.1", port, {})
        assert await client.post("/", b"a") == (503, b"busy")
        assert await client.post("/", b"b") == (503, b"busy")
        await client.aclose()

    run(with_server(handler, test))
    assert len(connections) == 2


def test_a_connection_dropped_without_an_answer_is_a_connection_error():
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async def test(port: int) -> None:
        client = RawClient("127.0.0.1", port, {})
        with pytest.raises(ConnectionError, match="closed by the server"):
            await client.post("/", b"a")

    asyncio.run(with_server(handler, test))


def test_no_answer_within_the_timeout_is_a_timeout_error():
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)
        writer.close()

    async def test(port: int) -> None:
        client = RawClient("127.0.0.1", port, {}, timeout=0.1)
        with pytest.raises(TimeoutError, match="no answer"):
            await client.post("/", b"a")
        await client.aclose()

    asyncio.run(with_server(handler, test))


def test_garbage_instead_of_http_is_a_connection_error():
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    async def test(port: int) -> None:
        client = RawClient("127.0.0.1", port, {})
        with pytest.raises(ConnectionError, match="unparsable"):
            await client.post("/", b"a")

    asyncio.run(with_server(handler, test))
