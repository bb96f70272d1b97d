"""Alert latency: how long after the collector's 2xx a new critical error reaches a webhook receiver, with a real
`errlog serve` and an idle `errlog worker` on Redis, everything on 127.0.0.1.

    python -m bench.alert_latency --redis-url redis://127.0.0.1:6379/15             # 200 errors, SQLite
    python -m bench.alert_latency --redis-url redis://127.0.0.1:6379/15 --count 500 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/errlog_alert_bench --json-out /tmp/alerts.json

Each error is new (its own message, so its own fingerprint) and `fatal` (critical). They are sent one at a time:
the next one only after the receiver got the previous alert, and after a pause, so the worker is idle each time.
The latency of one alert runs from the moment the 2xx was read to the moment the receiver read the webhook's body,
both on this process's monotonic clock. The target: p99 under 1 s.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.loadgen import machine, percentile
from bench.servers import READY_PATH, ROOT, Database, Server, ServerError

TARGET_P99_MS = 1000.0
ARRIVAL_TIMEOUT_SECONDS = 30.0
# The first alert also waits for the worker to start and connect: it is not counted.
WARMUP_TIMEOUT_SECONDS = 90.0


@dataclass
class ArrivalRecorder:
    """A webhook receiver on 127.0.0.1 noting when each alert's body was read, by a marker found in it."""

    server: ThreadingHTTPServer = field(init=False)
    arrivals: dict[str, float] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                recorder.record(body, arrived)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def record(self, body: bytes, arrived: float) -> None:
        try:
            title = str(json.loads(body)["error"]["title"])
        except (ValueError, KeyError, TypeError):
            return
        with self._changed:
            self.arrivals.setdefault(title, arrived)  # a retry of the same alert does not move its arrival
            self._changed.notify_all()

    def wait_for(self, title: str, timeout: float) -> float | None:
        """When the alert for the error titled `title` arrived, or None if it did not within `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: title in self.arrivals, timeout)
            return self.arrivals.get(title)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def alert_env(database: Database, redis_url: str, webhook_url: str) -> dict[str, str]:
    """The collector's and the worker's environment: one database, one Redis queue, alerts to the receiver only."""
    env = database.env()
    env["ERRLOG_REDIS_URL"] = redis_url
    # A queue of this run's own: another run, or a worker of the machine's own errlog, on the same Redis takes
    # none of its alerts.
    env["ERRLOG_QUEUE_NAME"] = f"errlog_bench_{uuid.uuid4().hex[:10]}"
    env["ERRLOG_WEBHOOK_URL"] = webhook_url
    env["ERRLOG_ALERT_COOLDOWN_MINUTES"] = "0"
    return env


def start_serve(env: dict[str, str]) -> Server:
    command = [sys.executable, "-m", "errlog.cli", "serve", "--host", "127.0.0.1", "--workers", "1"]
    server = Server([*command, "--log-level", "warning"], env, "collector")
    try:
        server.wait_ready(READY_PATH)
    except BaseException:
        server.stop()
        raise
    return server


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "errlog.cli", "worker", "--workers", "2", "--log-level", "info"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)


def send_error(client: httpx.Client, project_id: int, public_key: str, title: str) -> float:
    """Store one new critical error; the monotonic time its 2xx was read."""
    response = client.post(
        f"/api/{project_id}/store/",
        json={
            "event_id": uuid.uuid4().hex,
            "message": title,
            "level": "fatal",
            "environment": "production",
            # Grouping would fold "#1", "#2"... into one error: each must be new, so each names its own group.
            "fingerprint": [title],
        },
        headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={public_key}"},
    )
    answered = time.monotonic()
    if response.status_code != 200:
        raise ServerError(f"the collector answered {response.status_code}: {response.text[:200]}")
    return answered


def measure(
    client: httpx.Client,
    recorder: ArrivalRecorder,
    project_id: int,
    public_key: str,
    *,
    count: int,
    pause: float,
    run_id: str,
) -> tuple[list[float], int]:
    """(latencies in ms of the alerts that arrived, how many did not arrive in time), after one uncounted warm-up."""
    warmup = f"alert latency warm-up {run_id}"
    send_error(client, project_id, public_key, warmup)
    if recorder.wait_for(warmup, WARMUP_TIMEOUT_SECONDS) is None:
        raise ServerError(f"no alert reached the receiver within {WARMUP_TIMEOUT_SECONDS:.0f} s: is the worker up?")
    latencies, lost = [], 0
    for i in range(count):
        time.sleep(pause)  # the worker is idle again, as when a real error comes in
        title = f"alert latency {run_id} #{i}"
        answered = send_error(client, project_id, public_key, title)
        arrived = recorder.wait_for(title, ARRIVAL_TIMEOUT_SECONDS)
        if arrived is None:
            lost += 1
        else:
            latencies.append((arrived - answered) * 1000)
    return latencies, lost


def summarise(latencies: list[float], lost: int, database: str) -> dict[str, Any]:
    p99 = percentile(latencies, 0.99)
    return {
        "alerts": len(latencies),
        "lost": lost,
        "database": database,
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(latencies), 1) if latencies else float("nan"),
        "target_p99_ms": TARGET_P99_MS,
        "target_met": lost == 0 and p99 < TARGET_P99_MS,
        "machine": machine(),
    }


def report(summary: dict[str, Any]) -> str:
    verdict = "met" if summary["target_met"] else "MISSED"
    return "\n".join(
        [
            f"alerts        {summary['alerts']} received, {summary['lost']} lost ({summary['database']}, Redis queue)",
            f"latency ms    p50 {summary['p50_ms']}  p95 {summary['p95_ms']}  p99 {summary['p99_ms']}  "
            f"max {summary['max_ms']}",
            f"target        p99 < {TARGET_P99_MS:.0f} ms: {verdict}",
        ]
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", required=True, help="Redis the collector and worker queue through (127.0.0.1).")
    parser.add_argument("--database-url", help="PostgreSQL URL of a database named *bench* (default: a new SQLite).")
    parser.add_argument("--count", type=int, default=200, help="How many new critical errors to send (default 200).")
    parser.add_argument("--pause", type=float, default=0.2, help="Seconds between an alert and the next error.")
    parser.add_argument("--json-out", type=Path, help="Also write the summary here as JSON.")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # A SIGTERM (a timeout, Ctrl-C in a wrapper) still stops the collector and worker this started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    for url in (args.redis_url, args.database_url):
        if url and urlsplit(url.replace("+psycopg", "")).hostname not in ("127.0.0.1", "localhost"):
            print("alert_latency: only talks to this machine: use 127.0.0.1 URLs", file=sys.stderr)
            return 1
    if args.count < 1:
        parser.error("--count must be at least 1")
    recorder = ArrivalRecorder()
    database = Database.prepare(args.database_url, fresh=True)
    collector: Server | None = None
    worker: subprocess.Popen[bytes] | None = None
    worker_log = database.data_dir / "worker.log"
    try:
        project_id, dsn = database.create_project("alert-latency")
        public_key = urlsplit(dsn).username or ""
        env = alert_env(database, args.redis_url, recorder.url)
        worker = start_worker(env, worker_log)
        collector = start_serve(env)
        with httpx.Client(base_url=collector.url, timeout=10) as client:
            latencies, lost = measure(
                client, recorder, project_id, public_key, count=args.count, pause=args.pause, run_id=uuid.uuid4().hex
            )
    except ServerError as exc:
        print(f"alert_latency: {exc}", file=sys.stderr)
        if worker_log.exists():
            print("the worker's last lines:\n" + "\n".join(worker_log.read_text().splitlines()[-15:]), file=sys.stderr)
        return 1
    finally:
        if collector is not None:
            collector.stop()
        if worker is not None:
            stop_worker(worker)
        recorder.close()
        database.cleanup()
    summary = summarise(latencies, lost, database.kind)
    print(report(summary))
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
