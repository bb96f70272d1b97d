"""Independent read-only queries of one request run at once, each on its own connection of the request's engine.

A handler whose answer is the sum of a few slow, independent reads (errors/stats/) waits for their sum; run on
separate PostgreSQL backends they take as long as the slowest. Each read is a function of a session. The first
runs on the request's own session in the calling thread, the others on sessions of their own in a small pool of
threads, each in its own READ COMMITTED transaction: the same guarantee as one session gives, where each
statement sees what was committed when it began.

Connections are taken only under a process-wide allowance, without waiting for it: a request holds its own
connection while its side reads need more, so side reads waiting for connections that other such requests hold
could wait on each other until the pool's timeout. When the allowance is spent, or on SQLite (one writer, and
an in-memory database lives on one connection), the reads run one after another on the request's session."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy.orm import Session

# At most this many side reads hold a connection at once in the process: well under the engine's pool (5 + 10
# overflow by default), so requests that read on their own session always find one.
SIDE_CONNECTIONS = 4

_allowance = threading.BoundedSemaphore(SIDE_CONNECTIONS)
_threads = ThreadPoolExecutor(max_workers=SIDE_CONNECTIONS, thread_name_prefix="side-read")

Read = Callable[[Session], Any]


def read_at_once(session: Session, reads: Sequence[Read]) -> list[Any]:
    """The results of `reads`, in order: the first on `session`, the others on their own connections at the same
    time where the allowance and the backend permit, else on `session` after the first."""
    bind = session.get_bind()
    side: list[Future[Any] | None] = [None] * len(reads)
    if bind.dialect.name != "sqlite":
        for index in range(1, len(reads)):
            if not _allowance.acquire(blocking=False):
                break
            try:
                side[index] = _threads.submit(_on_own_session, bind, reads[index])
            except BaseException:
                _allowance.release()
                raise
    results: list[Any] = [None] * len(reads)
    try:
        for index, read in enumerate(reads):
            if side[index] is None:
                results[index] = read(session)
    except BaseException:
        wait([future for future in side if future is not None])  # none may outlive the request
        raise
    for index, future in enumerate(side):
        if future is not None:
            results[index] = future.result()
    return results


def _on_own_session(bind: Any, read: Read) -> Any:
    try:
        with Session(bind=bind) as session:
            return read(session)
    finally:
        _allowance.release()
