"""`errlog-tui` refuses unusable options with one line naming the fix, before drawing anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tui.cli import build_app, main
from tui.config import resolve_config
from tui.connection import LocalConnector, RemoteConnector


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "ftp://x", "--token", "t"], "--server: Value error, must be an http:// or https:// URL"),
        (["--server", "http://x"], "no API token for http://x (--server): pass --token or set ERRLOG_TOKEN"),
        (["--server", "http://x", "--token", "t", "--demo"], "--demo runs its own local server"),
        (["--token", "t"], "--token needs a server"),
        (["--profile", "prod"], "unknown profile 'prod'"),
    ],
)
def test_unusable_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output.startswith("errlog-tui: error: ")
    assert message in result.output


def test_the_app_for_each_mode(isolated_environment: object) -> None:
    remote = build_app(resolve_config(server="http://errlog.example.com", token="t"), demo=False)
    assert isinstance(remote.connector, RemoteConnector) and remote.exit_on_hangup
    local = build_app(resolve_config(), demo=False)
    try:
        assert isinstance(local.connector, LocalConnector) and not local.connector.demo
        # The local collector is already starting: its start overlaps the console's own (Textual's import).
        [serve] = local.connector.stack.processes
        assert serve.poll() is None and "serve" in serve.args
    finally:
        local.connector.close()
    assert local.connector.stack.processes == []
    demo = build_app(resolve_config(), demo=True)
    assert isinstance(demo.connector, LocalConnector) and demo.connector.stack.data_dir.name == "demo"
    assert demo.connector.stack.processes == []  # its servers need the demo's stand-in channels first
