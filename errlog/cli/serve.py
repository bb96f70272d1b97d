"""`errlog serve`: run the collector (ingest, REST API) with uvicorn."""

from __future__ import annotations

from urllib.parse import urlsplit

import click

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
def command(host: str, port: int | None, workers: int, log_level: str) -> None:
    """Serve the collector: the Sentry ingest endpoints, the JSON webhooks and the REST API."""
    import uvicorn

    from db.session import open_database

    settings = load_settings()
    # Migrate (embedded default) or check the schema once here, not racing in every worker.
    engine, _ = open_database(settings.effective_database_url, auto_upgrade=settings.uses_embedded_database)
    engine.dispose()
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
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
    )


def _display(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
