"""Liveness and readiness: is the process up, and can it reach its database and Redis."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from errlog import __version__

CHECK_TIMEOUT_SECONDS = 2.0


async def health(request: Request) -> JSONResponse:
    """Liveness: answers while the process serves requests (load balancers, the Dockerfile HEALTHCHECK)."""
    return JSONResponse({"status": "ok", "version": __version__})


def _ping_database(request: Request) -> None:
    with request.app.state.session_factory() as session:
        session.execute(text("SELECT 1"))


async def _check(name: str, check: object) -> tuple[str, dict[str, object]]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except Exception as exc:
        return name, {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()[:300]}
    return name, {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


async def ready(request: Request) -> JSONResponse:
    """Readiness: the database (and Redis, when configured) answer; 503 naming what does not."""
    checks = [_check("database", run_in_threadpool(_ping_database, request))]
    redis = request.app.state.redis
    if redis is not None:
        checks.append(_check("redis", redis.ping()))
    archive = request.app.state.archive
    if archive is not None:
        checks.append(_check("archive", run_in_threadpool(archive.ping)))
    results = dict(await asyncio.gather(*checks))
    writer = request.app.state.ingest.writer
    results["ingest"] = {"ok": writer.available and not writer.stuck, "pending": writer.pending}
    ok = all(bool(r["ok"]) for r in results.values())
    return JSONResponse({"status": "ready" if ok else "unavailable", "checks": results}, status_code=200 if ok else 503)


routes = [
    Route("/api/error-logging/webhook/health/", health, methods=["GET"]),
    Route("/api/error-logging/ready/", ready, methods=["GET"]),
]
