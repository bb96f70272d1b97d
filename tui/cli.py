"""`errlog-tui`: the on-call console. Connects to a server, or runs a local collector and worker for itself."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

import click

from errlog import __version__
from tui.config import ConfigError, TuiConfig, resolve_config

if TYPE_CHECKING:
    from tui.app import ErrlogApp


def build_app(config: TuiConfig, *, demo: bool) -> ErrlogApp:
    """The app for this configuration; Textual is imported only once the options are known to be good, and, in
    local mode, once the local collector is starting (its start is most of the first screen's wait)."""
    from tui.local import LocalStack, LocalStackError

    if config.remote is not None:
        if demo:
            raise ConfigError("--demo runs its own local server: leave out --server, --profile and ERRLOG_SERVER")
        from tui.app import ErrlogApp
        from tui.connection import RemoteConnector

        connector = RemoteConnector(config.remote.server, config.remote.token or "", config.remote.source)
        return ErrlogApp(connector, keymap=config.keymap, exit_on_hangup=True)
    data_dir = config.data_dir / "demo" if demo else config.data_dir
    stack = LocalStack(data_dir, public_url=config.public_url, demo=demo)
    if not demo:  # the demo's collector needs its channels' stand-in server first (tui/demo_stack.py)
        # A failure here (the data dir in use) comes again from the connect step, which shows it in the banner.
        with contextlib.suppress(LocalStackError, OSError):
            stack.launch()
    try:
        from tui.app import ErrlogApp
        from tui.connection import LocalConnector

        return ErrlogApp(LocalConnector(stack, demo=demo), keymap=config.keymap, exit_on_hangup=True)
    except BaseException:
        stack.stop()
        raise


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--server", metavar="URL", help="errlog server to connect to (default: ERRLOG_SERVER, else local mode).")
@click.option("--token", metavar="TOKEN", help="API token (default: ERRLOG_TOKEN or the profile's).")
@click.option("--profile", metavar="NAME", help="A [tui_profiles.NAME] server from the config file.")
@click.option("--demo", is_flag=True, help="Run a local server on a separate demo database filled with sample errors.")
@click.version_option(__version__, "-V", "--version", prog_name="errlog-tui")
def main(server: str | None, token: str | None, profile: str | None, demo: bool) -> None:
    """The errlog on-call console: live queue, error detail, stats, patterns, workload and notifications.

    With no server configured it starts a local collector and worker on the embedded default (SQLite in the
    data dir) and shows the DSN services should use. Press ? inside for the keys.
    """
    try:
        config = resolve_config(server=server, token=token, profile=profile)
        app = build_app(config, demo=demo)
    except ConfigError as exc:
        click.echo(f"errlog-tui: error: {exc}", err=True)
        sys.exit(2)
    try:
        app.run()
    finally:
        app.connector.close()  # also after a crash: the local servers must not outlive the console


if __name__ == "__main__":
    main()
