"""The parent process of `errlog serve --workers N`: runs N worker processes on one listening socket and keeps them up.

`errlog serve` checks the database, binds the socket, then execs this module, so the parent holds none of what the
CLI loaded (click, settings, SQLAlchemy, uvicorn): standard library only, ~11 MiB. It starts the workers with
`subprocess` rather than `multiprocessing`, so no resource-tracker process (~13 MiB) comes along either.
Signals, as uvicorn's own supervisor (and gunicorn's): SIGINT/SIGTERM stop the workers and then the parent; SIGHUP
replaces them one by one; SIGTTIN starts one more worker and SIGTTOU stops one (never the last); a worker that dies is
replaced, unless it never started (a broken setup would fail again and again).

With `--timeout SECONDS`, as gunicorn's: each worker gets the write end of a pipe (its descriptor in the environment,
HEARTBEAT_FD_ENV) and writes a byte to it every HEARTBEAT_SECONDS_ENV seconds from its event loop; a worker silent for
longer than the timeout has a blocked loop, answers nobody, and is killed (SIGKILL: a blocked loop never runs a
graceful shutdown) and replaced.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

# Exit status of a worker that could not start: the same as uvicorn's STARTUP_FAILURE.
STARTUP_FAILURE = 3
POLL_SECONDS = 0.5
# What a worker finds in its environment when the supervisor watches it: the pipe to beat on, and how often.
HEARTBEAT_FD_ENV = "ERRLOG_HEARTBEAT_FD"
HEARTBEAT_SECONDS_ENV = "ERRLOG_HEARTBEAT_SECONDS"
# A new worker imports the collector and runs its startup before its first beat: it gets at least this long.
STARTUP_GRACE_SECONDS = 60.0

log = logging.getLogger("errlog.supervisor")


@dataclass
class _Heartbeat:
    """The supervisor's end of one worker's heartbeat pipe, and when it was last heard or, before that, started."""

    fd: int
    heard: float
    started: bool = False


class Supervisor:
    """`workers` copies of `command` (each inheriting the file descriptors `pass_fds`) until told to stop; with a
    `timeout` (seconds, 0 for none), a worker that sends no heartbeat for that long is killed and replaced."""

    def __init__(self, command: Sequence[str], workers: int, pass_fds: Sequence[int], timeout: float = 0) -> None:
        self.command = list(command)
        self.workers = workers
        self.pass_fds = tuple(pass_fds)
        self.timeout = timeout
        self.processes: list[subprocess.Popen[bytes]] = []
        self.heartbeats: dict[int, _Heartbeat] = {}  # by worker pid
        self.stopping = False
        self.restart_requested = False
        self.resize_by = 0  # workers to add (or, below zero, to stop), as SIGTTIN and SIGTTOU asked

    def run(self) -> int:
        """Serve until SIGINT/SIGTERM: 0, or 1 when a worker failed to start (its own log says why)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        signal.signal(signal.SIGHUP, self._restart)
        signal.signal(signal.SIGTTIN, self._more)
        signal.signal(signal.SIGTTOU, self._fewer)
        log.info("Started parent process [%d]", os.getpid())
        self.processes = [self._start() for _ in range(self.workers)]
        status = 0
        while not self.stopping:
            if self.timeout:
                self._kill_silent()
            if not self._replace_exited():
                status = 1
                break
            if self.restart_requested:
                self.restart_requested = False
                self._restart_all()
            if self.resize_by:
                self._resize()
            time.sleep(POLL_SECONDS)
        self._stop_all()
        log.info("Stopping parent process [%d]", os.getpid())
        return status

    def _start(self) -> subprocess.Popen[bytes]:
        if not self.timeout:
            process = subprocess.Popen(self.command, pass_fds=self.pass_fds)
            log.info("Started worker process [%d]", process.pid)
            return process
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        # Four beats per timeout, at most one a second: a late beat or two is no reason to kill.
        interval = min(1.0, self.timeout / 4)
        env = {**os.environ, HEARTBEAT_FD_ENV: str(write_end), HEARTBEAT_SECONDS_ENV: repr(interval)}
        try:
            process = subprocess.Popen(self.command, pass_fds=(*self.pass_fds, write_end), env=env)
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # the worker's copy is the only one left
        self.heartbeats[process.pid] = _Heartbeat(read_end, time.monotonic())
        log.info("Started worker process [%d]", process.pid)
        return process

    def _kill_silent(self) -> None:
        """Kills each worker whose heartbeat is overdue; _replace_exited then starts another in its place."""
        now = time.monotonic()
        for process in self.processes:
            beat = self.heartbeats.get(process.pid)
            if beat is None or process.poll() is not None:
                continue
            if _drain(beat.fd):
                beat.heard, beat.started = now, True
                continue
            allowed = self.timeout if beat.started else max(self.timeout, STARTUP_GRACE_SECONDS)
            if now - beat.heard > allowed:
                log.error(
                    "Worker process [%d] sent no heartbeat for %.0f s (its event loop is blocked); killing it",
                    process.pid,
                    now - beat.heard,
                )
                process.kill()
                process.wait()

    def _forget(self, process: subprocess.Popen[bytes]) -> None:
        """Closes the heartbeat pipe of a worker that has exited."""
        beat = self.heartbeats.pop(process.pid, None)
        if beat is not None:
            os.close(beat.fd)

    def _replace_exited(self) -> bool:
        """Starts a new worker for each one that exited; False (replacing none) when one never started."""
        for index, process in enumerate(self.processes):
            code = process.poll()
            if code is None or self.stopping:
                continue
            if code == STARTUP_FAILURE:
                log.error("Worker process [%d] failed to start; stopping", process.pid)
                return False
            log.warning("Worker process [%d] exited with status %d; starting another", process.pid, code)
            self._forget(process)
            self.processes[index] = self._start()
        return True

    def _restart_all(self) -> None:
        """Each worker replaced by a new one, started before the old one stops so that the socket is never left
        without a worker accepting on it."""
        for index, old in enumerate(self.processes):
            if self.stopping:
                return
            self.processes[index] = self._start()
            _terminate(old)
            old.wait()
            self._forget(old)

    def _resize(self) -> None:
        """Workers added or stopped as SIGTTIN and SIGTTOU asked; the last one is never stopped."""
        wanted = max(1, len(self.processes) + self.resize_by)
        self.resize_by = 0
        while len(self.processes) < wanted:
            self.processes.append(self._start())
        while len(self.processes) > wanted:
            newest = self.processes.pop()
            _terminate(newest)
            newest.wait()
            self._forget(newest)
            log.info("Stopped worker process [%d]; %d left", newest.pid, len(self.processes))

    def _stop_all(self) -> None:
        for process in self.processes:
            _terminate(process)
        for process in self.processes:
            process.wait()
            self._forget(process)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("Received %s, stopping", signal.Signals(signum).name)
        self.stopping = True

    def _restart(self, signum: int, frame: FrameType | None) -> None:
        log.info("Received SIGHUP, restarting the workers")
        self.restart_requested = True

    def _more(self, signum: int, frame: FrameType | None) -> None:
        log.info("Received SIGTTIN, adding a worker")
        self.resize_by += 1

    def _fewer(self, signum: int, frame: FrameType | None) -> None:
        log.info("Received SIGTTOU, removing a worker")
        self.resize_by -= 1


def _drain(fd: int) -> bool:
    """Reads what is waiting in a heartbeat pipe: whether anything was."""
    heard = False
    while True:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return heard
        if not data:  # the worker closed its end: it is exiting, which poll() sees
            return heard
        heard = True


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m errlog.supervisor", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, required=True, help="worker processes to keep running")
    parser.add_argument("--pass-fd", type=int, action="append", default=[], help="descriptor the workers inherit")
    parser.add_argument("--log-level", default="info", help="critical, error, warning, info or debug")
    parser.add_argument(
        "--timeout", type=float, default=0, help="kill and replace a worker silent this many seconds (0: never)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command of one worker")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or args.workers < 1:
        parser.error("needs --workers N (N >= 1) and, after --, the command of one worker")
    if args.timeout < 0:
        parser.error("--timeout must be 0 (no heartbeats) or more")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(levelname)s: %(message)s [supervisor]", stream=sys.stderr
    )
    return Supervisor(command, args.workers, args.pass_fd, args.timeout).run()


if __name__ == "__main__":
    sys.exit(main())
