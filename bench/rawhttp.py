"""A lean HTTP/1.1 keep-alive client for the load generator: asyncio transports and httptools' response parser.

httpx costs this machine about 800 µs of CPU per request, so at 2,000 requests/s the generator alone would
need most of the two cores it shares with the collector. This client costs a small fraction of that: the
request is written as prebuilt bytes, and the answer is parsed by llhttp (httptools, which uvicorn uses too).
It does only what the benchmark needs: POST to one host over one connection at a time per sender.
"""

from __future__ import annotations

import asyncio

import httptools


class _Connection(asyncio.Protocol):
    """One keep-alive connection; answers come back through the future of the request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.body = bytearray()
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is not a subclass)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"unparsable HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError(f"connection closed by the server{f': {exc}' if exc else ''}"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.body = bytearray()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), bytes(self.body), self.parser.should_keep_alive()))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RawClient:
    """POSTs to http://host:port over one keep-alive connection, reconnecting when the server closes it."""

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        lines = [f"Host: {host}:{port}", "Connection: keep-alive", *(f"{k}: {v}" for k, v in headers.items())]
        self._head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._connection: _Connection | None = None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_connection(_Connection, self.host, self.port)
        protocol.transport = transport  # uvloop calls connection_made only after this has returned
        return protocol

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, response body); raises ConnectionError or TimeoutError."""
        connection = self._connection
        if connection is None or connection.closed:
            connection = self._connection = await self._connect()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, bytes, bool]] = loop.create_future()
        connection.waiter = waiter
        assert connection.transport is not None
        connection.transport.write(
            b"".join(
                (
                    b"POST ",
                    path.encode("ascii"),
                    b" HTTP/1.1\r\n",
                    self._head,
                    b"Content-Length: %d\r\n\r\n" % len(body),
                )
            )
        )
        connection.transport.write(body)
        timer = loop.call_later(self.timeout, _expire, waiter, self.timeout)
        try:
            status, answer, keep_alive = await waiter
        except BaseException:
            connection.close()  # a request in an unknown state: never reuse its connection
            self._connection = None
            raise
        finally:
            timer.cancel()
        if not keep_alive:
            connection.close()
            self._connection = None
        return status, answer

    async def aclose(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _expire(waiter: asyncio.Future[tuple[int, bytes, bool]], timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no answer within {timeout:g} s"))
