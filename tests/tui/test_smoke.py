"""The real errlog-tui in a real terminal (tmux): keys in, screen out, against a live collector and in local mode."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from db.enums import Role, Severity
from tests.collector.api.conftest import ApiClients
from tests.db.factories import make_issue, make_project

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


def errlog_tui() -> list[str]:
    """The installed console script when there is one, else the same entry point through the interpreter."""
    script = Path(sys.executable).parent / "errlog-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui.cli"]


class Terminal:
    """One tmux session on a private server socket, running one command."""

    def __init__(self, command: list[str], env: dict[str, str], size: tuple[int, int] = (100, 30)) -> None:
        self.socket = f"errlog-test-{uuid.uuid4().hex[:8]}"
        environment = [part for key, value in env.items() for part in ("-e", f"{key}={value}")]
        self.tmux(
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            "-c",
            str(ROOT),
            *environment,
            " ".join(_quote(part) for part in command),
        )

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=30
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tui").stdout

    def press(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "tui", key)
            if key == "Escape":
                # A key right after ESC would arrive as one escape sequence (alt+key), as in any terminal.
                time.sleep(0.5)

    def running(self) -> bool:
        return self.tmux("has-session", "-t", "tui").returncode == 0

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if condition(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}; the screen shows:\n{text}")
            time.sleep(0.1)

    def close(self) -> None:
        self.tmux("kill-server")


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\\''") + "'"


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def base_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": str(ROOT),
        "ERRLOG_CONFIG": str(tmp_path / "no-config.toml"),
        "ERRLOG_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PATH": os.environ.get("PATH", ""),
    }


def test_keys_in_a_real_terminal(api: ApiClients, tmp_path: Path, terminals: list[Terminal]) -> None:
    with api.collector.session() as session:
        issue = make_issue(
            session, make_project(session, "payments"), severity=Severity.CRITICAL, title="Gateway timeout"
        )
        session.commit()
        error_id = issue.id
    env = base_env(tmp_path) | {"NO_COLOR": "1"}
    command = [*errlog_tui(), "--server", api.collector.url, "--token", api.tokens[Role.RESPONDER]]
    terminal = Terminal(command, env)
    terminals.append(terminal)
    # The row and the title's count come from two answers: either may be drawn first.
    screen = terminal.wait_for(
        lambda text: "Gateway timeout" in text and "errlog: 1 unacknowledged" in text, "the queue"
    )
    assert "CRIT" in screen
    terminal.press("Enter")
    terminal.wait_for(lambda text: "[2 Detail]" in text and f"#{error_id} Gateway timeout" in text, "the detail pane")
    terminal.press("r")
    terminal.wait_for(lambda text: f"Resolved #{error_id}" in text, "the confirmation")
    with api.as_role(Role.VIEWER) as viewer:
        assert viewer.get(f"/errors/{error_id}/").json()["status"] == "resolved"
    terminal.press("?")
    terminal.wait_for(lambda text: "[pane.queue]" in text, "the help screen")
    terminal.press("Escape", "q")
    deadline = time.monotonic() + 20
    while terminal.running():
        assert time.monotonic() < deadline, "errlog-tui did not quit on q"
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_local_mode_runs_and_stops_its_own_servers(tmp_path: Path, terminals: list[Terminal]) -> None:
    port = free_port()
    env = base_env(tmp_path) | {"ERRLOG_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    data = tmp_path / "data"
    terminal = Terminal(errlog_tui(), env)
    terminals.append(terminal)
    screen = terminal.wait_for(lambda text: "no project to send them" in text, "the local collector", timeout=120)
    assert "errlog project create NAME" in screen
    # The worker starts once the first screen is up (its start would slow that screen down).
    deadline = time.monotonic() + 30
    while len((data / "tui-local.pids").read_text().splitlines()) < 3:
        assert time.monotonic() < deadline, "errlog-tui did not start its worker"
        time.sleep(0.1)
    owner, *servers = (data / "tui-local.pids").read_text().splitlines()
    pids = [int(line) for line in servers]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)  # the collector and the worker
    assert owner.startswith("owner ") and alive(int(owner.split()[1]))  # errlog-tui itself, so no second one stops them
    token_file = data / "tui-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    terminal.press("D")
    screen = terminal.wait_for(lambda text: "Server:" in text, "the connection screen")
    assert f"http://127.0.0.1:{port}  (local)" in screen
    assert "Worker:  running" in screen
    terminal.press("Escape", "q")
    deadline = time.monotonic() + 30
    while terminal.running():
        assert time.monotonic() < deadline, f"errlog-tui did not quit; the screen shows:\n{terminal.screen()}"
        time.sleep(0.1)
    assert not [pid for pid in pids if alive(pid)], "errlog-tui left its servers running"
    assert not (data / "tui-local.pids").exists()
