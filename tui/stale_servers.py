"""The servers an earlier errlog-tui left behind: found by the pid file beside the data, stopped unless still in use."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PID_FILE = "tui-local.pids"  # the servers a console started, so one killed without cleanup is not left running


class StaleServersError(Exception):
    """The data dir is in use by a console or demo that still runs."""


def stop_stale(pid_file: Path) -> None:
    """Stop the servers an earlier console left behind (killed before it could stop them), if they still run.

    A console or `errlog demo` still running on the same data dir (its pid is the file's `owner` line) is not
    touched: LocalStackError says so instead of pulling its servers from under it. Only processes whose command
    line is an `errlog.cli` command are stopped, so a reused pid is left alone; where there is no /proc to check
    that, nothing is."""
    try:
        lines = pid_file.read_text().split("\n")
    except FileNotFoundError:
        return
    owners = [int(line.split()[1]) for line in lines if line.startswith("owner ") and line.split()[1].isdigit()]
    for owner in owners:
        if owner != os.getpid() and _alive(owner):
            raise StaleServersError(
                f"{pid_file.parent} is in use by another errlog-tui or errlog demo (pid {owner}): connect to its "
                f"server with --server, or stop it first (if no such program runs, delete {pid_file})"
            )
    for pid in (int(line) for line in lines if line.strip().isdigit()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"errlog.cli" in command:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
    pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
