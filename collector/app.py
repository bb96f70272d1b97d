"""The collector's ASGI app, built explicitly from settings by `create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collector import checkins, health, sentry_routes, webhook_routes
from collector.alerts import AlertDecider, Enqueue, enqueue_with_huey
from collector.api.lazy import LazyApi
from collector.archive import EventArchive
from collector.body import BodyBudget
from collector.directory import ProjectDirectory
from collector.ingest import Ingest
from collector.ingest_asgi import IngestDispatch
from collector.limits_middleware import HeaderLimitMiddleware
from collector.ratelimit import make_rate_limiter
from collector.responses import error_response
from collector.scrub import ScrubRules
from collector.writer import IngestWriter
from db.session import open_database
from errlog.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, enqueue_alert: Enqueue | None = None) -> Starlette:
    """The collector for `settings`. Alerts go to the Huey queue unless `enqueue_alert` says otherwise."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine, sessions = await run_in_threadpool(
            open_database, settings.effective_database_url, auto_upgrade=settings.uses_embedded_database
        )
        rules = ScrubRules.from_settings(
            settings.scrub_extra_keys, settings.scrub_extra_patterns, safe_fields=settings.scrub_safe_fields
        )
        directory = ProjectDirectory(sessions, rules)
        await directory.reload()
        reloads = asyncio.create_task(directory.keep_current(), name="errlog-project-reload")
        archive = await run_in_threadpool(_open_archive, settings)
        writer = IngestWriter(
            sessions,
            archive=archive,
            max_batch=settings.ingest_batch_size,
            max_pending=settings.ingest_max_pending,
            on_committed=AlertDecider(sessions, enqueue_alert or enqueue_with_huey),
            batch_wait=settings.ingest_batch_wait_ms / 1000,
        )
        writer.start()
        limiter = make_rate_limiter(settings.redis_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = sessions
        app.state.enqueue_alert = enqueue_alert or enqueue_with_huey
        app.state.archive = archive
        app.state.body_budget = BodyBudget(settings.ingest_max_body_bytes)
        app.state.redis = _redis_client(settings.redis_url) if settings.redis_url else None
        app.state.ingest = Ingest(
            directory=directory,
            writer=writer,
            limiter=limiter,
            rate_limit_per_key=settings.rate_limit_per_key,
            rate_limit_per_project=settings.rate_limit_per_project,
        )
        _freeze_heap()
        try:
            yield
        finally:
            reloads.cancel()
            await run_in_threadpool(writer.stop)
            if archive is not None:
                archive.close()  # after the writer: it may still be storing the last batch
            await limiter.close()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            engine.dispose()

    return Starlette(
        routes=[
            *health.routes,
            *sentry_routes.routes,
            *checkins.routes,
            *webhook_routes.routes,
            *LazyApi(after_build=_freeze_heap).routes(),
        ],
        middleware=[
            Middleware(HeaderLimitMiddleware),
            # Ingest requests skip the exception middleware and the router's walk (collector/ingest_asgi.py).
            Middleware(IngestDispatch, routes=[*sentry_routes.routes, *webhook_routes.routes]),
        ],
        exception_handlers={404: _not_found, 405: _method_not_allowed, 500: _server_error},
        lifespan=lifespan,
    )


# The cyclic collector starts a young collection when the container objects allocated and not yet freed pass its
# first threshold, 700 by default. Parsing one 8 KiB event makes about that many, so one ran for nearly every event
# (~110 a second per worker at full load), walking the events in flight and finding nothing: events are trees, which
# reference counting frees. At this threshold only garbage that piles up (reference cycles) starts one: 1 to 10 in 30 s
# of full load instead of ~3,000, and about 4 % of a worker's CPU saved (bench/README.md, "Fifteenth pass").
YOUNG_COLLECTION_THRESHOLD = 20_000


def _freeze_heap() -> None:
    """What exists now (modules, the models; after the first API request also the API's routes and schemas) lives as
    long as the process. Frozen, it is out of the cyclic collector's reach: a full collection no longer walks
    ~140,000 objects, a pause of 70-90 ms that hit one request in forty (bench/README.md, "REST API"). Garbage is
    collected first, so none of it is kept for good. Run again after the API is built: the objects of requests in
    flight then are frozen too, which costs nothing (reference counting still frees them) unless they are in a
    reference cycle, and then only those few once. Young collections then wait for YOUNG_COLLECTION_THRESHOLD."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def _redis_client(url: str) -> Any:
    """The health check's Redis client; redis-py is imported only when Redis is configured (see ratelimit.py)."""
    import redis.asyncio as aioredis

    return aioredis.from_url(url)


def _open_archive(settings: Settings) -> EventArchive | None:
    """The MongoDB event archive when ERRLOG_MONGO_URL is set, its schema, TTL and indexes ensured."""
    if not settings.mongo_url:
        return None
    archive = EventArchive.from_url(settings.mongo_url, retention_days=settings.retention_days)
    try:
        archive.ensure_schema()
    except Exception:
        archive.close()
        raise
    return archive


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, f"no endpoint at {request.url.path}")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    headers = getattr(exc, "headers", None) or {}  # Starlette's Allow header (RFC 9110)
    return error_response(405, f"{request.method} is not allowed on {request.url.path}", dict(headers))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error; it was logged"}, status_code=500)
