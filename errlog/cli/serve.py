"""`errlog serve`: run the collector (ingest, REST API) with uvicorn."""

from __future__ import annotations

import multiprocessing
from urllib.parse import urlsplit

import click

from errlog.cli.common import CliError
from errlog.settings import load_settings


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
def command(host: str, port: int | None, workers: int, log_level: str, access_log: bool) -> None:
    """Serve the collector: the Sentry ingest endpoints, the JSON webhooks and the REST API."""
    import uvicorn

    settings = load_settings()
    # Migrate (embedded default) or check the schema once here, not racing in every worker. With several workers
    # this process only supervises them: checking in a child keeps SQLAlchemy and Alembic (~37 MiB) out of it.
    check = (settings.effective_database_url, settings.uses_embedded_database)
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            problem = pool.apply(_check_schema, check)
    else:
        problem = _check_schema(*check)
    if problem is not None:
        raise CliError(problem)
    if port is None:
        port = urlsplit(settings.public_url).port or 8000
    click.echo(f"errlog collector on http://{host}:{port} (database: {_display(settings.effective_database_url)})")
    uvicorn.run(
        "collector.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
    )


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
