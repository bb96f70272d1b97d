"""The `errlog` command: a click group whose subcommands live one per module and load on first use."""

from __future__ import annotations

import importlib

import click

from errlog import __version__
from errlog.cli.common import CliError, expected_errors

# Command name -> module defining it as `command`. Adding a command is one line here.
COMMANDS = {
    "analyze": "errlog.cli.analyze",
    "config": "errlog.cli.config",
    "db": "errlog.cli.db",
    "demo": "errlog.cli.demo",
    "developer": "errlog.cli.developer",
    "heartbeat": "errlog.cli.heartbeat",
    "maintenance": "errlog.cli.maintenance",
    "oncall": "errlog.cli.oncall",
    "project": "errlog.cli.project",
    "serve": "errlog.cli.serve",
    "team": "errlog.cli.team",
    "token": "errlog.cli.token",
    "worker": "errlog.cli.worker",
}


class ErrlogGroup(click.Group):
    """Loads command modules lazily (so `errlog db upgrade` never imports the collector) and turns every
    expected failure into one `errlog: error: ...` line with exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(module).command
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except expected_errors() as exc:
            raise CliError(str(exc)) from None


@click.group(cls=ErrlogGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="errlog", message="%(prog)s %(version)s")
def main() -> None:
    """errlog: a self-hosted error tracker for on-call triage.

    Settings come from ERRLOG_* environment variables and an optional TOML file; `errlog config` shows them.
    """
