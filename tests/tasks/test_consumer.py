"""`errlog worker` for real: a consumer process taking alerts from Redis (and SQLite), delivering them to a local
webhook receiver, and a worker killed mid-delivery whose notification the retry sweep still delivers."""

from __future__ import annotations

import datetime as dt
import hmac
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.enums import NotificationStatus, Severity
from db.models import Escalation, EscalationChain, EscalationStep, Notification, NotificationAttempt
from db.types import utcnow
from errlog.settings import Settings
from tasks.alerts import alert_issue
from tasks.deliver import LOST_ATTEMPT, retry_due_notifications
from tasks.queue import SqliteQueue, huey
from tests.db.factories import make_developer, make_event, make_issue, make_project
from tests.tasks.receivers import Receiver, Reply, closed_port_url, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec-e2e"


class Workers:
    """`errlog worker` subprocesses, stopped (SIGINT, then killed) when the test ends."""

    def __init__(self, tmp_path: Path, base_env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.base_env = base_env
        self.running: list[tuple[subprocess.Popen[str], IO[str], Path]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        log_path = self.tmp_path / f"worker-{len(self.running)}.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "errlog.cli", "worker", *args],
            env={**os.environ, "PYTHONPATH": str(ROOT), **self.base_env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            text=True,
        )
        self.running.append((process, log, log_path))
        return process

    def logs(self) -> str:
        return "\n".join(path.read_text() for _, _, path in self.running)

    def stop(self) -> None:
        for process, log, _ in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()


def eventually(check: Callable[[], Any], what: str, workers: Workers, timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy; fail with the workers' logs if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen; worker output:\n{workers.logs()}")


def received(receiver: Receiver, count: int, workers: Workers) -> None:
    eventually(lambda: len(receiver.requests) >= count, f"{count} webhook request(s)", workers)


def row_of(session: Session, issue_id: int) -> Notification | None:
    session.commit()
    session.expire_all()
    return session.scalars(select(Notification).where(Notification.issue_id == issue_id)).first()


def make_alert(session: Session) -> tuple[int, str]:
    issue = make_issue(session, make_project(session), severity=Severity.CRITICAL)
    event = make_event(session, issue, environment="production")
    session.commit()
    return issue.id, event.event_id


@pytest.fixture
def redis_queue(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process enqueues to Redis, under a queue name of its own, as a collector configured so would."""
    name = f"errlog_test_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("ERRLOG_REDIS_URL", redis_url)
    monkeypatch.setenv("ERRLOG_QUEUE_NAME", name)
    huey.immediate = False  # the queue opens on first use, from these settings
    try:
        yield name
    finally:
        huey.storage.flush_all()
        huey.storage = None


@pytest.fixture
def workers(tmp_path: Path, database_url: str, receiver: Receiver) -> Iterator[Workers]:
    env = {
        "ERRLOG_DATABASE_URL": database_url,
        "ERRLOG_WEBHOOK_URL": receiver.url + "/hook",
        "ERRLOG_WEBHOOK_SECRET": SECRET,
        "ERRLOG_NTFY_URL": closed_port_url(),
    }
    started = Workers(tmp_path, env)
    try:
        yield started
    finally:
        started.stop()


@pytest.mark.redis
def test_a_worker_on_redis_delivers_an_alert_end_to_end(
    db_session: Session, redis_url: str, redis_queue: str, receiver: Receiver, workers: Workers
) -> None:
    workers.start("--workers", "2", ERRLOG_REDIS_URL=redis_url, ERRLOG_QUEUE_NAME=redis_queue)
    issue_id, event_id = make_alert(db_session)
    alert_issue(issue_id, "new", event_id)  # enqueued to Redis, as the collector does after its commit

    received(receiver, 1, workers)
    (request,) = receiver.requests
    assert request.path == "/hook"
    signed = hmac.new(SECRET.encode(), request.headers["x-errlog-timestamp"].encode() + b"." + request.body, "sha256")
    assert request.headers["x-errlog-signature"] == signed.hexdigest()
    assert request.json()["error"]["id"] == issue_id

    row = eventually(
        lambda: (r := row_of(db_session, issue_id)) is not None and r.status == NotificationStatus.SENT and r,
        "the notification to be marked sent",
        workers,
    )
    assert row.attempts == 1 and row.last_status_code == 200


@pytest.mark.redis
def test_a_worker_killed_mid_delivery_does_not_lose_the_notification(
    db_session: Session,
    redis_url: str,
    redis_queue: str,
    receiver: Receiver,
    workers: Workers,
    configure_tasks: Callable[..., Settings],
) -> None:
    receiver.reply(Reply(hang=True))  # the first delivery gets no answer: the worker is busy sending it...
    worker = workers.start("--no-periodic", ERRLOG_REDIS_URL=redis_url, ERRLOG_QUEUE_NAME=redis_queue)
    issue_id, event_id = make_alert(db_session)
    alert_issue(issue_id, "new", event_id)
    received(receiver, 1, workers)

    worker.kill()  # ...when it is killed (SIGKILL: no clean-up of any kind)
    worker.wait()
    row = row_of(db_session, issue_id)
    assert row is not None and row.status == NotificationStatus.SENDING and row.attempts == 1

    # Five minutes later the sender's lease has run out (the row's clock is moved rather than waiting)...
    db_session.execute(
        update(Notification).where(Notification.id == row.id).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    )
    db_session.commit()
    # ...and the periodic sweep, run here on the same database, retries it.
    huey.immediate = True
    configure_tasks(webhook_url=receiver.url + "/hook", webhook_secret=SECRET)
    retry_due_notifications()

    assert len(receiver.requests) == 2
    first, second = receiver.requests
    # At least once: the receiver may see the message twice, and can tell it is the same delivery.
    assert first.headers["x-errlog-delivery"] == second.headers["x-errlog-delivery"]
    row = row_of(db_session, issue_id)
    assert row is not None and row.status == NotificationStatus.SENT and row.attempts == 2
    attempts = db_session.scalars(
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id == row.id)
        .order_by(NotificationAttempt.attempt)
    ).all()
    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [(1, None, LOST_ATTEMPT), (2, 200, None)]


def test_a_worker_on_the_embedded_sqlite_queue_delivers_an_alert(
    db_session: Session, isolated_environment: Path, receiver: Receiver, workers: Workers
) -> None:
    huey.immediate = False  # this process enqueues to the embedded default: tasks.db in the data dir
    workers.start("--workers", "1")
    issue_id, event_id = make_alert(db_session)
    alert_issue(issue_id, "new", event_id)
    assert isinstance(huey.storage, SqliteQueue) and huey.storage.filename == str(isolated_environment / "tasks.db")
    received(receiver, 1, workers)
    eventually(
        lambda: (r := row_of(db_session, issue_id)) is not None and r.status == NotificationStatus.SENT,
        "the notification to be marked sent",
        workers,
    )


def run_worker(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errlog.cli", "worker", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_an_unreachable_redis_is_a_one_line_error(isolated_environment: Path) -> None:
    port = free_port()
    result = run_worker(ERRLOG_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    expected = f"errlog: error: cannot use the task queue (Redis 127.0.0.1:{port}/0 queue 'errlog'): "
    assert result.stderr.startswith(expected)


def test_bad_options_are_refused(isolated_environment: Path) -> None:
    result = run_worker("--workers", "0")
    assert result.returncode == 2
    assert "--workers" in result.stderr


@pytest.mark.redis
def test_two_workers_with_periodic_jobs_escalate_a_due_error_once(
    db_session: Session, redis_url: str, redis_queue: str, receiver: Receiver, workers: Workers
) -> None:
    project = make_project(db_session)
    lead = make_developer(db_session, "Lea")
    db_session.add(
        EscalationChain(
            project_id=project.id, steps=[EscalationStep(position=0, after_minutes=15, target_developer_id=lead.id)]
        )
    )
    long_ago = utcnow() - dt.timedelta(hours=1)
    issue = make_issue(db_session, project, severity=Severity.CRITICAL, first_seen=long_ago)
    db_session.commit()
    for _ in range(2):  # both run the periodic jobs: the chain's job still runs once a minute, under its lock
        workers.start("--workers", "2", ERRLOG_REDIS_URL=redis_url, ERRLOG_QUEUE_NAME=redis_queue)

    # The jobs start at the next whole minute; the page goes to the company webhook as every alert does.
    eventually(lambda: receiver.requests, "the escalation's page", workers, timeout=150)
    (request,) = receiver.requests
    assert request.json()["trigger"] == "escalation" and request.json()["error"]["id"] == issue.id
    db_session.expire_all()
    escalations = db_session.scalars(select(Escalation).where(Escalation.issue_id == issue.id)).all()
    assert [(e.actor, e.to_developer_id) for e in escalations] == [("chain", lead.id)]
