"""Starting and stopping what the benchmarks send to: `errlog serve` on a chosen database, or the echo server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from db.models import Event, Issue

ROOT = Path(__file__).resolve().parent.parent
READY_PATH = "/api/error-logging/ready/"


class ServerError(Exception):
    """A server or CLI command the benchmark needs did not start or failed."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Database:
    """The database a benchmark collector writes to, and the environment that points errlog at it."""

    url: str | None  # None: the embedded SQLite database in data_dir
    data_dir: Path
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @classmethod
    def prepare(cls, url: str | None, *, fresh: bool) -> Database:
        """A fresh temporary SQLite database (url None), or `url` migrated (and emptied first if `fresh`)."""
        tmp = tempfile.TemporaryDirectory(prefix="errlog-bench-")
        database = cls(url=url, data_dir=Path(tmp.name), _tmp=tmp)
        if url is not None and make_url(url).get_backend_name() == "postgresql" and fresh:
            recreate_postgres(url)
        database.errlog("db", "upgrade")
        return database

    @property
    def effective_url(self) -> str:
        return self.url or f"sqlite:///{self.data_dir / 'errlog.db'}"

    @property
    def kind(self) -> str:
        return make_url(self.effective_url).get_backend_name()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ERRLOG_")}
        env["ERRLOG_DATA_DIR"] = str(self.data_dir)
        env["ERRLOG_CONFIG"] = str(self.data_dir / "no-config.toml")  # the user's own config stays out of it
        if self.url:
            env["ERRLOG_DATABASE_URL"] = self.url
        env["PYTHONPATH"] = str(ROOT)
        return env

    def errlog(self, *args: str) -> str:
        """Run an `errlog` CLI command against this database; its standard output."""
        result = subprocess.run(
            [sys.executable, "-m", "errlog.cli", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise ServerError(f"errlog {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def create_project(self, name: str) -> tuple[int, str]:
        """(id, DSN) of a new project."""
        created = json.loads(self.errlog("project", "create", name, "--json"))
        return int(created["id"]), str(created["dsn"])

    def counts(self, project_id: int) -> tuple[int, int]:
        """(events, issues) stored for the project."""
        engine = create_engine(self.effective_url)
        try:
            with engine.connect() as connection:
                events = connection.scalar(select(func.count(Event.id)).where(Event.project_id == project_id))
                issues = connection.scalar(select(func.count(Issue.id)).where(Issue.project_id == project_id))
        finally:
            engine.dispose()
        return int(events or 0), int(issues or 0)

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def recreate_postgres(url: str) -> None:
    """Drop and create the benchmark's PostgreSQL database; refuses any whose name lacks "bench"."""
    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in name:
        raise ServerError(f"refusing to recreate database {name!r}: only databases named *bench* are emptied")
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


class Server:
    """A server process in its own process group, stopped (with its workers) by `stop`."""

    def __init__(self, command: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"errlog-bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ServerError(f"{self.name} did not become ready in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the server's own process group (its uvicorn workers too), SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def start_collector(database: Database, workers: int, *, batch_size: int | None = None) -> Server:
    env = database.env()
    if batch_size is not None:
        env["ERRLOG_INGEST_BATCH_SIZE"] = str(batch_size)
    command = [sys.executable, "-m", "errlog.cli", "serve", "--host", "127.0.0.1", "--workers", str(workers)]
    server = Server([*command, "--log-level", "warning"], env, "collector")
    try:
        server.wait_ready(READY_PATH)
    except BaseException:
        server.stop()
        raise
    return server


def start_echo_server() -> Server:
    command = [sys.executable, "-m", "uvicorn", "bench.echo_server:app", "--host", "127.0.0.1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = Server([*command, "--no-access-log", "--log-level", "warning"], env, "echo")
    try:
        server.wait_ready("/")
    except BaseException:
        server.stop()
        raise
    return server
