"""Running a documented snippet as its own process, the way a reader would, with a clear failure when it breaks."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TIMEOUT_SECONDS = 120


def run(command: Sequence[str], *, cwd: Path, env: dict[str, str], expect: int | None = 0) -> str:
    """Run `command` to completion; its output, or a failure showing it when the exit status is not `expect`."""
    result = subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )
    output = f"$ {' '.join(command)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    if expect is not None:
        assert result.returncode == expect, f"exit status {result.returncode}, expected {expect}\n{output}"
    return output


def python(script: Path, *, env: dict[str, str]) -> str:
    """A Python snippet under the interpreter running the tests (it has the real sentry-sdk)."""
    return run([sys.executable, script.name], cwd=script.parent, env=env)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the server exited with {process.returncode}\n{out}\n{err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on port {port} after {timeout} s") from None
            time.sleep(0.05)
