"""Local mode: errlog-tui with no server runs `errlog serve` and `errlog worker` itself, as subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

import errlog
from tui.stale_servers import PID_FILE, StaleServersError, stop_stale

TOKEN_FILE = "tui-token"
LOG_FILE = "tui-local.log"
HEALTH_PATH = "/api/error-logging/webhook/health/"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
WEBHOOK_KINDS = ("laravel", "java", "frontend", "mobile", "generic")


class LocalStackError(Exception):
    """The local collector or a command could not run; the message says why and where the log is."""


@dataclass
class Project:
    id: int
    name: str
    dsns: list[str]


@dataclass
class LocalInfo:
    """What a newcomer needs to send errors to the local collector, shown in the TUI."""

    server: str
    token: str
    data_dir: Path
    log_path: Path
    worker: bool
    projects: list[Project] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"{self.server}/api/error-logging/webhook/<kind>/  (kind: {', '.join(WEBHOOK_KINDS)})"


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens there on 127.0.0.1 (so DSNs stay the same between runs), else any free port."""
    for port in ((preferred,) if preferred else ()) + (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen: int = sock.getsockname()[1]
            return chosen
    raise LocalStackError("no free TCP port on 127.0.0.1")


def read_private(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def write_private(path: Path, text: str) -> None:
    """An owner-only (0600) file: tokens are credentials."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)


class LocalStack:
    """The collector (and worker, when `errlog worker` exists) on the embedded default in `data_dir`."""

    def __init__(self, data_dir: Path, *, public_url: str, demo: bool = False, python: str = sys.executable) -> None:
        self.data_dir = data_dir
        self.demo = demo
        self.python = python
        self.public_url = public_url
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_path = data_dir / LOG_FILE
        self._log: IO[bytes] | None = None
        self.server = ""
        self.token = ""
        self.env: dict[str, str] = {}
        self.extra_env: dict[str, str] = {}  # settings for the subprocesses only (the demo's channels)
        self._has_worker = False
        self._worker_started = False

    def _environment(self, server: str) -> dict[str, str]:
        env = dict(os.environ)
        package_root = str(Path(errlog.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        env["ERRLOG_DATA_DIR"] = str(self.data_dir)
        env["ERRLOG_PUBLIC_URL"] = server
        if self.demo:
            # The demo never touches the user's own database, queue or archive.
            env["ERRLOG_DATABASE_URL"] = f"sqlite:///{self.data_dir / 'errlog.db'}"
            for name in ("ERRLOG_REDIS_URL", "ERRLOG_MONGO_URL", "ERRLOG_SERVER", "ERRLOG_TOKEN"):
                env[name] = ""
        env.update(self.extra_env)
        return env

    def launch(self) -> None:
        """Start `errlog serve` without waiting for it; `start` waits. errlog-tui calls this before it imports
        Textual, so the collector's own start (seconds of imports on a busy machine) runs beside the console's."""
        if self.processes:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            stop_stale(self.data_dir / PID_FILE)
        except StaleServersError as exc:
            raise LocalStackError(str(exc)) from None
        parts = urlsplit(self.public_url)
        loopback = parts.hostname in ("127.0.0.1", "localhost") and not self.demo
        port = free_port(parts.port if loopback else None)
        self.server = f"http://127.0.0.1:{port}"
        self.env = self._environment(self.server)
        self._log = self.log_path.open("ab")
        self._spawn("serve", "--port", str(port), "--log-level", "warning")

    async def start(self, *, worker: bool = True) -> LocalInfo:
        """Start the collector and wait for it; the worker too, unless `worker` is False: the console starts it with
        start_worker once its first screen is up, as its start would compete with that screen's requests."""
        self.launch()
        await self._wait_healthy()
        # Looked up, not run: `errlog worker --help` in a subprocess cost seconds of the first screen (bench/tui.py).
        self._has_worker = importlib.util.find_spec("errlog.cli.worker") is not None
        if worker:
            self.start_worker()
        self.token = await self._token()
        return LocalInfo(
            server=self.server,
            token=self.token,
            data_dir=self.data_dir,
            log_path=self.log_path,
            worker=self._has_worker,
            projects=await self.projects(),
        )

    def start_worker(self) -> None:
        """Start `errlog worker` (once), if there is one. Only after the collector answers: that means it has
        migrated the database the worker opens too."""
        if self._has_worker and not self._worker_started and self.processes:
            self._worker_started = True
            self._spawn("worker")

    def _spawn(self, *args: str) -> None:
        assert self._log is not None
        self._log.write(f"--- errlog-tui: errlog {' '.join(args)} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode())
        self._log.flush()
        process = subprocess.Popen(
            [self.python, "-m", "errlog.cli", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl+C meant for the TUI must not reach the servers half-way
        )
        self.processes.append(process)
        pids = "".join(f"{p.pid}\n" for p in self.processes)
        (self.data_dir / PID_FILE).write_text(f"owner {os.getpid()}\n{pids}")

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                serve = self.processes[0]
                if serve.poll() is not None:
                    raise LocalStackError(
                        f"the local collector exited with code {serve.returncode}: {self._log_tail()} "
                        f"(full log: {self.log_path})"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(self.server + HEALTH_PATH)).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise LocalStackError(
                        f"the local collector did not answer within {STARTUP_TIMEOUT:.0f} s: see {self.log_path}"
                    )
                await asyncio.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return "no log"
        return lines[-1].strip() if lines else "no output"

    async def run(self, *args: str) -> str:
        """Run `errlog ARGS...` against this stack's database; its stdout, or LocalStackError with its error line."""
        result = await asyncio.to_thread(
            subprocess.run,
            [self.python, "-m", "errlog.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            message = result.stderr.strip().splitlines()[-1:] or [f"exit code {result.returncode}"]
            raise LocalStackError(f"errlog {' '.join(args[:2])}: {message[0]}")
        return result.stdout

    async def run_json(self, *args: str) -> Any:
        return json.loads(await self.run(*args, "--json"))

    async def _token(self) -> str:
        """The admin token this data dir's TUI uses, made once and kept (0600) beside the database."""
        path = self.data_dir / TOKEN_FILE
        token = read_private(path)
        if token and await self._accepted(token):
            return token
        created = await self.run_json("token", "create", f"tui-local-{secrets.token_hex(3)}", "--role", "admin")
        token = str(created["token"])
        write_private(path, token)
        return token

    async def _accepted(self, token: str) -> bool:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(
                f"{self.server}/api/error-logging/audit/",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
        return response.status_code == 200

    async def projects(self) -> list[Project]:
        """The projects and their DSNs, through the REST API: an `errlog project list` subprocess costs seconds."""
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(
                f"{self.server}/api/error-logging/projects/", headers={"Authorization": f"Bearer {self.token}"}
            )
        if response.is_error:
            raise LocalStackError(f"the local collector could not list the projects: {response.status_code}")
        return [Project(int(row["id"]), str(row["name"]), list(row["dsns"])) for row in response.json()]

    def stop(self) -> None:
        """Stop the subprocesses (gracefully, then by force); safe to call twice."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self._worker_started = False
        (self.data_dir / PID_FILE).unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None
