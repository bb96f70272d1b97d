"""`errlog serve`: run the collector (ingest, REST API) with uvicorn."""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlsplit

import click

from errlog.cli.common import CliError
from errlog.settings import Settings, load_settings

APP = "collector.asgi:app_from_environment"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (default: ERRLOG_PUBLIC_URL's, else 8000)."
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Collector processes.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log a line per request. Off by default: the proxy in front keeps that log, and at --log-level info each "
    "line costs the collector about as much CPU as all of its HTTP handling of an event.",
)
@click.option(
    "--worker-timeout",
    type=click.IntRange(0, 3600),
    default=30,
    show_default=True,
    help="With --workers 2 or more: a worker whose event loop has been blocked this many seconds is killed and "
    "replaced (0: never), as gunicorn's --timeout.",
)
def command(host: str, port: int | None, workers: int, log_level: str, access_log: bool, worker_timeout: int) -> None:
    """Serve the collector: the Sentry ingest endpoints, the JSON webhooks and the REST API."""
    import uvicorn

    settings = load_settings()
    # Migrate (embedded default) or check the schema once here, not racing in every worker. With several workers
    # this process then execs the supervisor, so what the check loaded (SQLAlchemy, Alembic) does not stay.
    problem = _check_schema(settings.effective_database_url, settings.uses_embedded_database)
    if problem is not None:
        raise CliError(problem)
    if port is None:
        port = urlsplit(settings.public_url).port or 8000
    click.echo(f"errlog collector on http://{host}:{port} (database: {_display(settings.effective_database_url)})")
    if workers == 1:
        uvicorn.run(APP, host=host, port=port, **uvicorn_options(settings, log_level, access_log))
        return
    listening = uvicorn.Config(
        APP, host=host, port=port, **uvicorn_options(settings, log_level, access_log)
    ).bind_socket()
    _exec_supervisor(workers, listening.fileno(), log_level, access_log, worker_timeout)


def uvicorn_options(settings: Settings, log_level: str, access_log: bool) -> dict[str, Any]:
    """How uvicorn runs the collector, the same in `errlog serve` and in each of its worker processes."""
    return {
        "factory": True,
        "log_level": log_level,
        "access_log": access_log,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
        "server_header": False,
    }


def _exec_supervisor(workers: int, listening_fd: int, log_level: str, access_log: bool, timeout: int) -> None:
    """Replaces this process by errlog.supervisor running `workers` errlog.cli.serve_worker processes on the
    socket: the parent that stays is ~11 MiB, not the ~50 MiB this process holds now (click, settings, SQLAlchemy,
    uvicorn). Same pid, so a service manager or a process group signal still reaches it."""
    python = sys.executable
    worker = [python, "-m", "errlog.cli.serve_worker", "--fd", str(listening_fd), "--log-level", log_level]
    if access_log:
        worker.append("--access-log")
    supervisor = [python, "-m", "errlog.supervisor", "--workers", str(workers), "--pass-fd", str(listening_fd)]
    supervisor += ["--timeout", str(timeout)]
    sys.stdout.flush()  # exec drops what Python has buffered
    sys.stderr.flush()
    os.execv(python, [*supervisor, "--log-level", log_level, "--", *worker])


def _check_schema(url: str, auto_upgrade: bool) -> str | None:
    """Opens the database and checks (or migrates) its schema: None when it is ready, else what is wrong."""
    from db.session import DatabaseError, open_database

    try:
        engine, _ = open_database(url, auto_upgrade=auto_upgrade)
    except DatabaseError as exc:
        return str(exc)
    engine.dispose()
    return None


def _display(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
