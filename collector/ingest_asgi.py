"""The ingest endpoints as pure ASGI apps: they read the raw scope and answer with prebuilt headers, skipping
Starlette's per-request Request, Response, CORS and exception-handling layers (about 30 µs of CPU per event).
`IngestDispatch` sends ingest paths to them before the exception middleware and the router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import State
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from collector.body import BodyBudget
from collector.responses import EXPOSED_HEADERS, Answer, send_answer


class RawRequest:
    """What an ingest endpoint reads from a request, taken straight from the ASGI scope."""

    __slots__ = ("headers", "held", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.held = 0  # body bytes counted against the process's BodyBudget, given back when the answer is ready
        # Names arrive lowercased (ASGI); the first of repeated headers wins, as with Starlette's Headers.get.
        self.headers: dict[str, str] = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(scope["headers"])
        }

    @property
    def path_params(self) -> dict[str, Any]:
        params: dict[str, Any] = self.scope["path_params"]
        return params

    @property
    def query(self) -> dict[str, str]:
        """The query parameters, the last of repeated names winning (as Starlette's QueryParams.get)."""
        raw: bytes = self.scope.get("query_string", b"")
        return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}

    @property
    def state(self) -> State:
        state: State = self.scope["app"].state
        return state

    @property
    def client_ip(self) -> str | None:
        """The sender's address: the peer's, or the one a trusted proxy forwarded (`ERRLOG_TRUSTED_PROXIES`)."""
        client = self.scope.get("client")
        return str(client[0]) if client else None

    def reserve(self, size: int) -> None:
        """Counts `size` more bytes of this request's body against the process's budget (app.state.body_budget)."""
        budget = self._budget()
        if budget is not None:
            budget.take(size, self.held)
            self.held += size

    def give_back(self) -> None:
        if self.held:
            budget = self._budget()
            assert budget is not None  # what was counted was counted there
            budget.give_back(self.held)
            self.held = 0

    def _budget(self) -> BodyBudget | None:
        app = self.scope.get("app")
        budget: BodyBudget | None = getattr(app.state, "body_budget", None) if app is not None else None
        return budget

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; raises ClientDisconnect if the client goes away first."""
        while True:
            message = await self.receive()
            if message["type"] == "http.request":
                body: bytes = message.get("body", b"")
                if body:
                    yield body
                if not message.get("more_body", False):
                    return
            elif message["type"] == "http.disconnect":
                raise ClientDisconnect()


Handler = Callable[[RawRequest], Awaitable[Answer]]

# Ingest answers per client connection before the collector asks the client to reconnect (nginx's
# keepalive_requests, whose default was this before it became 1,000).
REQUESTS_PER_CONNECTION = 100
_CLOSE = [(b"connection", b"close")]


class KeepAliveBudget:
    """Answers the `limit`-th ingest request of each client connection with `Connection: close`.

    With `errlog serve --workers N` the processes share one listening socket, and a connection stays with the process
    that accepted it for as long as it lives. SDKs keep theirs open, so whichever process was up first, or idle when a
    burst of clients connected, kept most of the load for good: 29, 30 and 31 of 32 benchmark connections on one of
    two workers, which then took 500-540 events/s instead of 740-1,000. A client that reconnects is accepted by a
    process waiting in accept, that is an idle one, so closing now and then evens the load out. One reconnect per
    `limit` requests costs a TCP handshake each time: well under 1 % of an event's CPU here.

    ASGI says nothing of a connection's end, so a count stays behind when its connection ends early, and a later
    connection from the same address and port carries it on: that one is asked to reconnect sooner. Harmless.
    """

    __slots__ = ("counts", "limit")

    def __init__(self, limit: int = REQUESTS_PER_CONNECTION) -> None:
        self.limit = limit
        self.counts: dict[tuple[Any, ...], int] = {}  # client (host, port): requests answered on that connection

    def close_after(self, scope: Scope) -> bool:
        """Whether this request's answer closes its connection; counts the request."""
        client = scope.get("client")
        if not client:  # a Unix socket: nothing to tell connections apart by
            return False
        key = tuple(client)
        answered = self.counts.get(key, 0) + 1
        if answered >= self.limit:
            self.counts.pop(key, None)
            return True
        if answered == 1 and len(self.counts) >= 65_536:
            # Connections end without telling the app; their counts would pile up. Forgetting them all now and then
            # only lets some connections live up to twice as long.
            self.counts.clear()
        self.counts[key] = answered
        return False


async def _empty_ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


class BrowserCors:
    """Permissive CORS for browser SDKs: any origin may post and read the rate-limit headers.

    Preflights (rare: browsers cache them for `max_age`) go through Starlette's CORSMiddleware; answers to posts get
    the same headers it would add, built once."""

    def __init__(self, allow_methods: Sequence[str], allow_headers: Sequence[str], max_age: int) -> None:
        self.options = CORSMiddleware(
            _empty_ok,
            allow_origins=["*"],
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            expose_headers=EXPOSED_HEADERS,
            max_age=max_age,
        )
        vary = (b"vary", b"Origin")
        self.without_origin = [vary]
        self.with_origin = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode("latin-1")),
            vary,
        ]


class IngestEndpoint:
    """An ingest handler as an ASGI app, for a Starlette Route and for `IngestDispatch`."""

    # One budget for all ingest endpoints of a process: a client may post to several over one connection.
    keep_alive = KeepAliveBudget()

    def __init__(self, handler: Handler, cors: BrowserCors | None = None) -> None:
        self.handler = handler
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cors = self.cors
        if cors is not None and scope["method"] == "OPTIONS":
            await cors.options(scope, receive, send)
            return
        request = RawRequest(scope, receive)
        try:
            answer = await self.handler(request)
        finally:
            request.give_back()
        extra = None if cors is None else cors.with_origin if "origin" in request.headers else cors.without_origin
        if self.keep_alive.close_after(scope):
            extra = extra + _CLOSE if extra else _CLOSE
        await send_answer(send, answer, extra)


class IngestDispatch:
    """Pure ASGI middleware: a request for one of `routes` (path and method) goes straight to its app, past the
    exception middleware and the router; anything else, 405s and slash redirects included, goes on to the app."""

    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    await route.app(scope, receive, send)
                    return
        await self.app(scope, receive, send)
