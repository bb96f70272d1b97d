"""Writers of one SQLite file taking turns across processes, waiting in the kernel rather than in SQLite's busy loop."""

from __future__ import annotations

import fcntl
import os
import threading
from types import TracebackType

from sqlalchemy import Engine


class WriteTurn:
    """An exclusive `flock` on `<database>-writer.lock`, held around each write transaction of the ingest writers.

    Two collector processes on one SQLite file otherwise meet at the database's write lock, where the one that finds
    it taken sleeps in SQLite's busy handler (1, 2, 5, 10, ... 100 ms at a time, blind to when the lock is freed): a
    p99 of 250-660 ms and seconds at the worst, and turns lost while both sleep. A writer blocked on the flock is
    woken by the kernel the moment the other lets go. Other writers (the API, the task worker) still meet SQLite's
    lock as before; they write little. PostgreSQL needs none of this (row locks), nor does an in-memory database.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path else None
        self._threads = threading.Lock()  # a flock belongs to the open file: a process's threads queue here first

    @classmethod
    def for_engine(cls, engine: Engine | None) -> WriteTurn:
        url = engine.url if engine is not None else None
        if url is None or url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return cls(None)
        return cls(f"{os.path.expanduser(url.database)}-writer.lock")

    def __enter__(self) -> None:
        if self._fd is not None:
            self._threads.acquire()
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._threads.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
