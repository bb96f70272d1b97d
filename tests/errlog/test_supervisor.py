"""errlog.supervisor keeps N worker processes running, replaces them, and stops them all when told."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A worker that writes its pid into the folder and waits to be stopped.
WORKER = "import os, pathlib, sys, time; pathlib.Path(sys.argv[1], str(os.getpid())).touch(); time.sleep(120)"
# One that also beats on the supervisor's pipe, as it asks, until a file named after its pid appears in hung/.
BEATING_WORKER = """
import os, pathlib, sys, time
folder = pathlib.Path(sys.argv[1])
(folder / str(os.getpid())).touch()
fd, interval = int(os.environ["ERRLOG_HEARTBEAT_FD"]), float(os.environ["ERRLOG_HEARTBEAT_SECONDS"])
while not (folder.parent / "hung" / str(os.getpid())).exists():
    os.write(fd, b".")
    time.sleep(interval)
time.sleep(120)
"""


def supervise(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "errlog.supervisor", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    process = supervise("--workers", "2", "--", sys.executable, "-c", WORKER, str(tmp_path))
    yield process, tmp_path
    if process.poll() is None:
        process.kill()
    process.communicate()


def started(folder: Path) -> set[int]:
    return {int(path.name) for path in folder.iterdir()}


def test_a_worker_that_dies_is_replaced_and_sigterm_stops_them_all(supervisor) -> None:
    process, folder = supervisor
    eventually(lambda: len(started(folder)) == 2, "two workers starting")
    first = min(started(folder))
    os.kill(first, signal.SIGKILL)
    eventually(lambda: len(started(folder)) == 3, "a third worker replacing the killed one")
    assert children(process.pid) == started(folder) - {first}
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert not any(alive(pid) for pid in started(folder))


def test_sighup_replaces_every_worker(supervisor) -> None:
    process, folder = supervisor
    eventually(lambda: len(started(folder)) == 2, "two workers starting")
    old = started(folder)
    process.send_signal(signal.SIGHUP)
    eventually(lambda: len(started(folder)) == 4 and children(process.pid) == started(folder) - old, "replacements")
    assert not any(alive(pid) for pid in old)
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0


def test_a_worker_that_cannot_start_stops_the_supervisor(tmp_path: Path) -> None:
    process = supervise("--workers", "2", "--", sys.executable, "-c", "raise SystemExit(3)")
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "failed to start; stopping" in errors


def test_the_supervisor_loads_nothing_but_the_standard_library() -> None:
    check = (
        "import sys, errlog.supervisor;"
        "loaded = {name.split('.')[0] for name in sys.modules};"
        "print(sorted(loaded & {'click', 'uvicorn', 'pydantic', 'sqlalchemy', 'starlette', 'collector', 'db'}))"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_sigttin_adds_a_worker_and_sigttou_removes_one_but_never_the_last(supervisor) -> None:
    process, folder = supervisor
    eventually(lambda: len(started(folder)) == 2, "two workers starting")
    process.send_signal(signal.SIGTTIN)
    eventually(lambda: len(children(process.pid)) == 3, "a third worker")
    for _ in range(3):  # one more than can go: the last worker stays
        process.send_signal(signal.SIGTTOU)
        time.sleep(0.2)
    eventually(lambda: len(children(process.pid)) == 1, "all but one worker stopping")
    time.sleep(1)  # a few supervisor rounds: the last one is neither stopped nor replaced
    assert len(children(process.pid)) == 1 and len(started(folder)) == 3
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert not any(alive(pid) for pid in started(folder))


def test_a_worker_that_stops_beating_is_killed_and_replaced_while_beating_ones_stay(tmp_path: Path) -> None:
    folder, hung = tmp_path / "workers", tmp_path / "hung"
    folder.mkdir()
    hung.mkdir()
    process = supervise("--workers", "2", "--timeout", "1", "--", sys.executable, "-c", BEATING_WORKER, str(folder))
    try:
        eventually(lambda: len(started(folder)) == 2, "two workers starting")
        time.sleep(3)  # three timeouts: workers that beat are left alone
        first, second = sorted(started(folder))
        assert children(process.pid) == {first, second}
        (hung / str(first)).touch()
        eventually(lambda: len(started(folder)) == 3, "a worker replacing the silent one")
        eventually(lambda: not alive(first), "the silent worker's end")
        assert children(process.pid) == started(folder) - {first}
        assert second in children(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        _, errors = process.communicate()
    assert f"Worker process [{first}] sent no heartbeat" in errors
    assert f"[{second}] sent no heartbeat" not in errors


def test_a_starting_worker_has_more_than_the_timeout_for_its_first_beat(tmp_path: Path) -> None:
    # WORKER never beats: as a worker still importing the collector, it is given STARTUP_GRACE_SECONDS, not 1 s.
    process = supervise("--workers", "2", "--timeout", "1", "--", sys.executable, "-c", WORKER, str(tmp_path))
    try:
        eventually(lambda: len(started(tmp_path)) == 2, "two workers starting")
        time.sleep(3)
        assert children(process.pid) == started(tmp_path)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_a_negative_timeout_is_refused() -> None:
    process = supervise("--workers", "1", "--timeout", "-1", "--", sys.executable, "-c", WORKER, "/nonexistent")
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "--timeout must be 0 (no heartbeats) or more" in errors
