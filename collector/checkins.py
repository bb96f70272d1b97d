"""Heartbeat check-ins: Sentry's HTTP cron URL (/api/<project>/cron/<slug>/<sentry_key>/) and `check_in` envelope
items. Recorded in a worker thread (never on the event loop), committed, then any alert due is enqueued."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.alerts import AlertDue, Enqueue
from collector.ingest import Ingest
from collector.responses import IngestError, error_response, unavailable
from db.enums import KeyKind
from db.heartbeats import STATUSES, HeartbeatAlert, find_heartbeat, record_check_in

log = logging.getLogger(__name__)


class UnknownMonitor(Exception):
    """No heartbeat with this slug in the project (monitors are created in errlog, not by check-ins)."""


def apply_check_in(
    sessions: sessionmaker[Session],
    enqueue: Enqueue,
    project_id: int,
    slug: str,
    status: str,
    *,
    now: dt.datetime,
    duration: float | None = None,
) -> None:
    """Record one check-in and commit; then enqueue its alert, if one is due. Blocking: run it in a thread."""
    with sessions() as session:
        heartbeat = find_heartbeat(session, project_id, slug, lock=True)
        if heartbeat is None:
            raise UnknownMonitor(f"project {project_id} has no heartbeat {slug!r}: create it first")
        alert = record_check_in(session, heartbeat, status, now=now, duration=duration)
        session.commit()
    if alert is not None:
        _enqueue(enqueue, alert)


def _enqueue(enqueue: Enqueue, alert: HeartbeatAlert) -> None:
    try:
        enqueue(AlertDue(alert.issue_id, alert.trigger, alert.event_id))
    except Exception:  # the error is stored and shows in the queue either way
        log.exception("could not enqueue %s alert for heartbeat issue %s", alert.trigger, alert.issue_id)


async def cron_endpoint(request: Request) -> Response:
    """GET or POST /api/<project_id>/cron/<monitor_slug>/<sentry_key>/?status=ok|in_progress|error (ok when left
    out), as Sentry's HTTP check-ins: 202 when recorded, 404 for an unknown monitor, 403 for a bad key."""
    project_id: int = request.path_params["project_id"]
    slug: str = request.path_params["monitor_slug"]
    status = request.query_params.get("status", "ok")
    if status not in STATUSES:
        return error_response(400, f"status: expected one of {', '.join(STATUSES)}, not {status[:50]!r}")
    ingest: Ingest = request.app.state.ingest
    try:
        await ingest.authenticate(KeyKind.DSN, request.path_params["sentry_key"], project_id=project_id)
        await _record(request, project_id, slug, status, None)
    except IngestError as exc:
        return error_response(exc.status, exc.reason, exc.headers)
    except UnknownMonitor as exc:
        return error_response(404, str(exc))
    return JSONResponse({"id": uuid.uuid4().hex}, status_code=202)


async def record_envelope_check_ins(request: Request, project_id: int, check_ins: list[dict[str, Any]]) -> None:
    """The `check_in` items of an authenticated envelope. An item errlog cannot use (unknown monitor, odd status) is
    skipped and logged, as Sentry skips what it cannot take: the SDK does not read the answer."""
    for item in check_ins:
        slug, status, duration = item.get("monitor_slug"), item.get("status"), item.get("duration")
        if not isinstance(slug, str) or status not in STATUSES:
            log.info("project %s: check-in skipped: needs monitor_slug and a status in %s", project_id, STATUSES)
            continue
        if not isinstance(duration, int | float) or isinstance(duration, bool):
            duration = None
        try:
            await _record(request, project_id, slug, str(status), duration)
        except UnknownMonitor as exc:
            log.info("check-in skipped: %s", exc)


async def _record(request: Request, project_id: int, slug: str, status: str, duration: float | None) -> None:
    state = request.app.state
    try:
        await run_in_threadpool(
            apply_check_in,
            state.session_factory,
            state.enqueue_alert,
            project_id,
            slug,
            status,
            now=dt.datetime.now(dt.UTC),
            duration=duration,
        )
    except SQLAlchemyError:
        log.warning("check-in for %s not stored: the database is unavailable", slug, exc_info=True)
        raise unavailable() from None


routes = [
    Route(
        "/api/{project_id:int}/cron/{monitor_slug}/{sentry_key}/",
        cron_endpoint,
        methods=["GET", "POST"],
    ),
]
