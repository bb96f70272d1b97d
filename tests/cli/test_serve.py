"""`errlog serve` checks the schema before it starts, then serves with one process or a supervisor and N workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.errlog.test_supervisor import children as child_pids

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unreachable_database_is_one_error_line_whatever_the_workers(isolated_environment, workers):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "ERRLOG_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/errlog",  # nothing listens on port 1
    }
    result = subprocess.run(
        [sys.executable, "-m", "errlog.cli", "serve", "--workers", workers, "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "errlog: error: cannot use database postgresql+psycopg://postgres@127.0.0.1:1/errlog"
    )
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(("flag", "logged"), [([], False), (["--access-log"], True), (["--no-access-log"], False)])
def test_uvicorn_keeps_an_access_log_only_when_asked(errlog, monkeypatch, flag, logged):
    import uvicorn

    runs: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    result = errlog("serve", "--port", "8123", *flag)
    assert result.exit_code == 0, result.output
    assert [run["access_log"] for run in runs] == [logged]


@pytest.mark.parametrize(("flag", "logged"), [([], False), (["--access-log"], True)])
def test_each_worker_gets_the_access_log_choice(errlog, monkeypatch, flag, logged):
    import uvicorn

    from errlog.cli import serve

    execs: list[list[str]] = []
    monkeypatch.setattr(serve.os, "execv", lambda path, argv: execs.append(argv))
    with socket.socket() as listening:
        monkeypatch.setattr(uvicorn.Config, "bind_socket", lambda config: listening)
        result = errlog("serve", "--port", "0", "--workers", "2", *flag)
    assert result.exit_code == 0, result.output
    [argv] = execs
    worker = argv[argv.index("--") + 1 :]
    assert worker[1:3] == ["-m", "errlog.cli.serve_worker"]
    assert ("--access-log" in worker) is logged


def children(pid: int) -> list[str]:
    """The command lines of `pid`'s live child processes."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(command)
    return found


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_ingest_and_the_api_and_stops_on_sigterm(isolated_environment, workers):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    serve = subprocess.Popen(
        [sys.executable, "-m", "errlog.cli", "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/error-logging"
        ready = wait_for(lambda: httpx.get(f"{url}/ready/", timeout=2))
        assert ready.status_code == 200
        assert httpx.get(f"{url}/errors/", timeout=10).status_code == 401  # the API, built on this first request
        if workers > 1:
            # The CLI process became the supervisor; its children are the workers, no multiprocessing helper.
            assert (
                "-m errlog.supervisor" in Path(f"/proc/{serve.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
            assert [c for c in children(serve.pid) if "errlog.cli.serve_worker" in c] == children(serve.pid)
            assert len(children(serve.pid)) == workers
        serve.send_signal(signal.SIGTERM)
        # One worker is uvicorn itself, which ends by re-raising the signal once it has shut down gracefully.
        assert serve.wait(60) == (0 if workers > 1 else -signal.SIGTERM)
        assert children(serve.pid) == []
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(request: Callable[[], httpx.Response]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return request()
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_worker_whose_collector_cannot_start_exits_with_startup_failure(isolated_environment):
    """The supervisor stops on this status instead of starting the worker again and again."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "ERRLOG_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/errlog",  # nothing listens on port 1
    }
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        result = subprocess.run(
            [sys.executable, "-m", "errlog.cli.serve_worker", "--fd", str(listening.fileno())],
            pass_fds=(listening.fileno(),),
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
    assert result.returncode == 3, result.stderr


def test_a_frozen_worker_is_killed_and_replaced_and_the_others_keep_serving(isolated_environment):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    serve = subprocess.Popen(
        [sys.executable, "-m", "errlog.cli", "serve", "--workers", "2", "--worker-timeout", "2", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/error-logging"
        assert wait_for(lambda: httpx.get(f"{url}/ready/", timeout=2)).status_code == 200
        deadline = time.monotonic() + 60
        while len(child_pids(serve.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(5)  # more than two timeouts: workers whose loops turn are left alone
        first, second = sorted(child_pids(serve.pid))
        os.kill(first, signal.SIGSTOP)  # frozen: no event loop runs, no heartbeat
        deadline = time.monotonic() + 30
        while first in child_pids(serve.pid) or len(child_pids(serve.pid)) < 2:
            assert time.monotonic() < deadline, "the frozen worker was not replaced"
            time.sleep(0.1)
        assert second in child_pids(serve.pid)
        # The listening socket is served again by two workers: every connection gets an answer.
        for _ in range(10):
            with httpx.Client() as client:
                assert client.get(f"{url}/webhook/health/", timeout=10).status_code == 200
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
        _, errors = serve.communicate()
    assert f"Worker process [{first}] sent no heartbeat" in errors
    assert f"[{second}] sent no heartbeat" not in errors
