"""The REST API's routes, declared without importing the API: the first request to one of them builds it.

A collector process that only ingests never loads the API's resource modules, pydantic schemas and OpenAPI
document (~16 MiB a worker). The routes have the paths and methods of `build_api()` (route_table.py, checked by a
test), so routing, 404 and 405 answer exactly as if the API were built at start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.api.route_table import ROUTES

Handler = Callable[[Request], Awaitable[Response]]


class LazyApi:
    """The API's routes; `after_build` runs once the API is built (the collector freezes its heap again there)."""

    def __init__(self, after_build: Callable[[], None]) -> None:
        self._after_build = after_build
        self._handlers: dict[str, Handler] | None = None
        self._building = asyncio.Lock()

    def routes(self) -> list[Route]:
        return [Route(path, self._endpoint(path), methods=list(methods)) for path, methods in ROUTES.items()]

    def _endpoint(self, path: str) -> Handler:
        async def endpoint(request: Request) -> Response:
            handlers = self._handlers or await self._build()
            return await handlers[path](request)

        return endpoint

    async def _build(self) -> dict[str, Handler]:
        async with self._building:  # concurrent first requests build it once
            if self._handlers is None:
                # In a thread: the imports take a CPU-bound moment the event loop spends serving ingest meanwhile.
                self._handlers = await run_in_threadpool(self._load)
        return self._handlers

    def _load(self) -> dict[str, Handler]:
        from collector.api import build_api

        handlers = {route.path: route.endpoint for route in build_api().starlette_routes()}
        self._after_build()
        return handlers
