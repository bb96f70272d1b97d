"""The parent process of `errlog serve --workers N`: runs N worker processes on one listening socket and keeps them up.

`errlog serve` checks the database, binds the socket, then execs this module, so the parent holds none of what the
CLI loaded (click, settings, SQLAlchemy, uvicorn): standard library only, ~11 MiB. It starts the workers with
`subprocess` rather than `multiprocessing`, so no resource-tracker process (~13 MiB) comes along either.
Signals, as uvicorn's own supervisor (and gunicorn's): SIGINT/SIGTERM stop the workers and then the parent; SIGHUP
replaces them one by one; SIGTTIN starts one more worker and SIGTTOU stops one (never the last); a worker that dies is
replaced, unless it never started (a broken setup would fail again and again).
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
from types import FrameType

# Exit status of a worker that could not start: the same as uvicorn's STARTUP_FAILURE.
STARTUP_FAILURE = 3
POLL_SECONDS = 0.5

log = logging.getLogger("errlog.supervisor")


class Supervisor:
    """`workers` copies of `command` (each inheriting the file descriptors `pass_fds`) until told to stop."""

    def __init__(self, command: Sequence[str], workers: int, pass_fds: Sequence[int]) -> None:
        self.command = list(command)
        self.workers = workers
        self.pass_fds = tuple(pass_fds)
        self.processes: list[subprocess.Popen[bytes]] = []
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
        process = subprocess.Popen(self.command, pass_fds=self.pass_fds)
        log.info("Started worker process [%d]", process.pid)
        return process

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
            log.info("Stopped worker process [%d]; %d left", newest.pid, len(self.processes))

    def _stop_all(self) -> None:
        for process in self.processes:
            _terminate(process)
        for process in self.processes:
            process.wait()

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


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m errlog.supervisor", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, required=True, help="worker processes to keep running")
    parser.add_argument("--pass-fd", type=int, action="append", default=[], help="descriptor the workers inherit")
    parser.add_argument("--log-level", default="info", help="critical, error, warning, info or debug")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command of one worker")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or args.workers < 1:
        parser.error("needs --workers N (N >= 1) and, after --, the command of one worker")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(levelname)s: %(message)s [supervisor]", stream=sys.stderr
    )
    return Supervisor(command, args.workers, args.pass_fd).run()


if __name__ == "__main__":
    sys.exit(main())
