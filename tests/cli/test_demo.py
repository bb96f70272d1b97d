"""`errlog demo`: the real command in a subprocess fills a demo database of its own through a local collector,
serves it until interrupted, and prints what is needed to reach it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tui.demo_data import SERVICES

ROOT = Path(__file__).resolve().parents[2]
ERRORS = sum(len(service.errors) for service in SERVICES)


def start_errlog(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(
        [sys.executable, "-m", "errlog.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def lines_until(process: subprocess.Popen[str], last: str, timeout: float = 120) -> list[str]:
    """stdout lines up to the one containing `last`; fails with stderr if the command ends or stalls first."""
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))
            if last in line:
                return
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            _, stderr = process.communicate()
            raise AssertionError(f"`errlog demo` did not print {last!r}; stdout: {seen}; stderr: {stderr[-2000:]}")
        seen.append(line)
        if last in line:
            return seen


def api_get(server: str, token: str, path: str, **params: object) -> list[dict[str, object]]:
    response = httpx.get(
        f"{server}/api/error-logging/{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    body = response.json()
    return list(body["items"] if isinstance(body, dict) else body)


def test_demo_fills_then_serves_its_own_database_until_interrupted(isolated_environment: Path) -> None:
    filled = subprocess.run(
        [sys.executable, "-m", "errlog.cli", "demo", "--fill-only"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert filled.returncode == 0, filled.stderr
    assert f"The demo database is ready in {isolated_environment / 'demo'}." in filled.stdout
    assert "errlog-tui --demo" in filled.stdout and "Demo data ready" in filled.stderr
    assert not (isolated_environment / "tui-local.pids").exists() and not (isolated_environment / "errlog.db").exists()

    process = start_errlog("demo")
    try:
        output = "\n".join(lines_until(process, "Ctrl+C stops it"))
        server = re.search(r"errlog demo running at (http://127\.0\.0\.1:\d+)", output)
        token = re.search(r"--token (\S+)", output)
        assert server and token, output
        for service in SERVICES:
            assert re.search(rf"{service.name}: SENTRY_DSN=http://[0-9a-f]+@127\.0\.0\.1:\d+/\d+", output)
        errors = api_get(server[1], token[1], "errors/", limit=100)
        assert len(errors) == ERRORS  # the second run adds events to the same errors, not new errors
        assert {e["severity"] for e in errors} == {"critical", "high", "medium", "low"}
        assert any(e["assignee"] for e in errors) and any(e["escalation_level"] for e in errors)
        assert len(api_get(server[1], token[1], "developers/")) >= 5
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Demo stopped" in stdout and "Traceback" not in stderr
    with pytest.raises(httpx.ConnectError):  # the collector went with it
        httpx.get(f"{server[1]}/api/error-logging/webhook/health/", timeout=5)


def test_a_demo_that_cannot_start_says_why_in_one_line(isolated_environment: Path) -> None:
    isolated_environment.parent.mkdir(parents=True, exist_ok=True)
    isolated_environment.write_text("a file where the data dir should be\n")
    process = start_errlog("demo")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("errlog: error:")]
    assert errors == [f"errlog: error: cannot run the demo in {isolated_environment / 'demo'}: Not a directory"], stderr
    assert "Traceback" not in stderr
