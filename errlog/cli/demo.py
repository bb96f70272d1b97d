"""`errlog demo`: a populated errlog to try, on a demo database of its own, served until Ctrl+C."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from errlog.cli.common import CliError
from errlog.settings import load_settings

# The demo reuses the console's local mode: servers as subprocesses, the database filled through the collector's
# own doors. Neither module imports Textual, and the CLI may use them (the layer contracts in pyproject.toml).
from tui.demo_stack import DemoStack, start_demo
from tui.local import LocalStack, LocalStackError


@click.command("demo")
@click.option(
    "--fill-only", is_flag=True, help="Fill the demo database, then stop the servers (errlog-tui --demo opens it)."
)
def command(fill_only: bool) -> None:
    """Run a collector and a worker on a separate demo database (the data dir's demo/ folder), filled with errors
    from five services, developers, on-call rotations, triage so far and alert deliveries, and print how to reach
    it: the console command, an admin API token, each project's DSN. It keeps serving, with a new event every few
    seconds, until Ctrl+C. The first run fills the database; later runs add a fresh burst of events.

    Your own database, queue and archive are never touched; `errlog-tui --demo` opens the same demo database.
    """
    settings = load_settings()
    stack = LocalStack(settings.data_dir / "demo", public_url=settings.public_url, demo=True)
    try:
        asyncio.run(_run(stack, fill_only))
    except LocalStackError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # the data dir cannot be made or written
        raise CliError(f"cannot run the demo in {stack.data_dir}: {exc.strerror or exc}") from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        click.echo(f"Demo stopped. Its data stays in {stack.data_dir}: errlog-tui --demo opens it.")


async def _run(stack: LocalStack, fill_only: bool) -> None:
    # Ctrl+C and a SIGTERM (a service manager, `kill`) both cancel the demo, which stops the servers on the way out.
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            if task is not None:
                loop.add_signal_handler(getattr(signal, name), task.cancel)
    demo = await start_demo(stack, lambda message: click.echo(message, err=True))
    try:
        if fill_only:
            click.echo(f"The demo database is ready in {stack.data_dir}.")
            click.echo("Open it with: errlog-tui --demo")
            return
        _print_access(demo)
        await demo.feed()
    finally:
        demo.close()


def _print_access(demo: DemoStack) -> None:
    info = demo.info
    click.echo(f"errlog demo running at {info.server} (data: {info.data_dir})")
    click.echo(f"  Console:    errlog-tui --server {info.server} --token {info.token}")
    click.echo(f"  API token:  {info.token}  (admin; send it as 'Authorization: Bearer ...')")
    click.echo(f"  Worker:     {'running' if info.worker else 'not available'}; log: {info.log_path}")
    click.echo("  Send errors here:")
    for project in info.projects:
        for dsn in project.dsns:
            click.echo(f"    {project.name}: SENTRY_DSN={dsn}")
    click.echo(f"    JSON webhooks: POST {info.webhook_url}")
    click.echo(f"    with the project's webhook token, kept in {info.data_dir / 'demo-projects.json'}")
    click.echo("Serving, with a new demo event every few seconds. Ctrl+C stops it.")
