"""Starting and stopping what the benchmarks send to: `errlog serve` on a chosen database, or the echo server."""

from __future__ import annotations

import datetime as dt
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
from sqlalchemy import bindparam, create_engine, func, select, text
from sqlalchemy.engine import make_url

from db.models import Event, Issue
from db.types import UTCDateTime

ROOT = Path(__file__).resolve().parent.parent
READY_PATH = "/api/error-logging/ready/"


# Older issues (a third resolved) of two small events each, numbered by a query of `n` that {numbers} stands for.
_BACKLOG_ISSUES = (
    "INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, exception_type, platform, level, "
    "severity, status, first_seen, last_seen, times_seen, users_affected, resolved_in_next_release, is_regression, "
    "escalation_level, impact_score, created_at, updated_at) "
    "SELECT :project, 'backlog-' || n, 2, 'BacklogError' || (n % 97) || ': row ' || n || ' not found', "
    "'app.backlog.module_' || (n % 211) || ' in handler_' || n, 'BacklogError' || (n % 97), 'python', 'error', "
    "'high', CASE WHEN n % 3 = 0 THEN 'resolved' ELSE 'unresolved' END, :then, :then, 2, 1, false, false, 0, 1.0, "
    ":then, :then FROM ({numbers}) AS numbers"
)
_BACKLOG_EVENTS = (
    "INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, severity, platform, source, "
    "size_bytes) "
    "SELECT project_id, id, 'backlog-' || id || '-' || copy, first_seen, first_seen, 'error', 'high', 'python', "
    "'sentry', 100 FROM issues CROSS JOIN (SELECT 1 AS copy UNION ALL SELECT 2) AS copies "
    "WHERE project_id = :project AND fingerprint LIKE 'backlog-%'"
)


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

    def seed_backlog(self, project_id: int, issues: int) -> None:
        """Give the project `issues` older issues of two events each, as a database in use has. PostgreSQL's statistics
        are brought up to date, as its autovacuum would; errlog never analyzes SQLite, so neither does this."""
        engine = create_engine(self.effective_url)
        numbers = (
            "SELECT generate_series(1, :issues) AS n"
            if self.kind == "postgresql"
            else "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :issues) SELECT n FROM s"
        )
        try:
            with engine.begin() as connection:
                then = bindparam("then", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), type_=UTCDateTime())  # as errlog does
                statement = text(_BACKLOG_ISSUES.format(numbers=numbers)).bindparams(then)
                connection.execute(statement, {"project": project_id, "issues": issues})
                connection.execute(text(_BACKLOG_EVENTS), {"project": project_id})
            if self.kind == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("ANALYZE"))
        finally:
            engine.dispose()

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


def start_collector(
    database: Database, workers: int, *, batch_size: int | None = None, batch_wait_ms: float | None = None
) -> Server:
    env = database.env()
    if batch_size is not None:
        env["ERRLOG_INGEST_BATCH_SIZE"] = str(batch_size)
    if batch_wait_ms is not None:
        env["ERRLOG_INGEST_BATCH_WAIT_MS"] = str(batch_wait_ms)
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
