"""`errlog worker`: run the Huey consumer that sends alerts, retries them and runs the periodic jobs."""

from __future__ import annotations

import logging

import click

from errlog.cli.common import CliError
from errlog.settings import load_settings

# The embedded SQLite queue is polled; polling at least every second keeps an idle worker quick to send an alert.
# (Redis reads block, so a task is taken the moment it is queued.)
SQLITE_MAX_POLL_SECONDS = 0.5


@click.command("worker")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Worker threads taking tasks."
)
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Do not schedule the periodic jobs (retry sweep, ...): for extra workers beside one that does.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def command(workers: int, no_periodic: bool, log_level: str) -> None:
    """Run a task worker: alert delivery with retries, and (unless --no-periodic) the periodic jobs."""
    from huey.consumer import Consumer
    from huey.storage import SqliteStorage

    from db.session import open_database

    settings = load_settings()
    # Migrate (embedded default) or check the schema once, here, with a one-line error rather than in every task.
    engine, _ = open_database(settings.effective_database_url, auto_upgrade=settings.uses_embedded_database)
    engine.dispose()

    from tasks.main import huey
    from tasks.queue import QueueError, check_queue, describe_queue, runtime

    try:
        check_queue(huey)
    except QueueError as exc:
        raise CliError(str(exc)) from None
    runtime.configure(settings)

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    polled = isinstance(huey.storage, SqliteStorage)
    consumer = Consumer(
        huey,
        workers=workers,
        periodic=not no_periodic,
        worker_type="thread",
        initial_delay=0.1,
        backoff=1.15,
        max_delay=SQLITE_MAX_POLL_SECONDS if polled else 10.0,
        check_worker_health=True,
    )
    click.echo(
        f"errlog worker: {workers} thread(s) on {describe_queue(huey)}, periodic jobs {'off' if no_periodic else 'on'}"
    )
    consumer.run()
