"""Group commit: one thread writes every accepted event, many per transaction, and answers each request after
its commit. The event loop never touches the database, and a 2xx always means the event is stored."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from collector.archive import ArchiveUnavailable, EventArchive
from collector.pipeline import PreparedEvent
from collector.storage import StoreOutcome, store_batch
from db.write_turn import WriteTurn

log = logging.getLogger(__name__)


# A batch still being written after this long means the database is not answering (a host that drops packets, a
# server that hangs): new events are answered 503 at once instead of queuing behind it. Batches take milliseconds.
STUCK_AFTER_SECONDS = 1.0


class StorageUnavailable(Exception):
    """The database (or the event archive) cannot take writes right now; the client should retry later (503)."""


class Overloaded(Exception):
    """More events are waiting for storage than the collector will hold in memory (503 with Retry-After)."""


class EventRejected(Exception):
    """The database refused this one event (not the others in its batch); the reason is the client's to fix."""


@dataclass(slots=True)
class _Pending:
    item: PreparedEvent
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[StoreOutcome]


def _is_outage(exc: BaseException) -> bool:
    """Connection-level failures mean the database or the archive is away, not that the batch is bad."""
    if isinstance(exc, OperationalError | ArchiveUnavailable):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class IngestWriter:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        max_batch: int = 250,
        max_pending: int = 10_000,
        probe_interval: float = 0.5,
        on_committed: Callable[[list[StoreOutcome]], None] | None = None,
        archive: EventArchive | None = None,
        batch_wait: float = 0.0,
    ) -> None:
        self._sessions = session_factory
        self.batch_wait = batch_wait
        self._turn = WriteTurn.for_engine(session_factory.kw.get("bind"))
        self._archive = archive
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._probe_interval = probe_interval
        self._on_committed = on_committed
        self._pending = 0
        self._writing_since: float | None = None  # when the transaction being written began, if one is
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.available = True
        self.batches_committed = 0

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def stuck(self) -> bool:
        """Whether the transaction being written (or the probe of a database that was away) has taken longer than
        STUCK_AFTER_SECONDS so far."""
        since = self._writing_since
        return since is not None and time.monotonic() - since > STUCK_AFTER_SECONDS

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="errlog-ingest-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what was accepted, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        self._turn.close()

    async def submit(self, item: PreparedEvent) -> StoreOutcome:
        if not self.available or self.stuck:
            raise StorageUnavailable("storage is unavailable")
        with self._lock:
            if self._pending >= self._max_pending:
                raise Overloaded(f"{self._pending} events are waiting for storage")
            self._pending += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoreOutcome] = loop.create_future()
        self._queue.put(_Pending(item, loop, future))
        return await future

    # --- the writer thread ---

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = self._take_queued(batch)
            if not stopping and self.batch_wait > 0:
                stopping = self._gather(batch)
            self._write(batch)
            if stopping:
                return

    def _take_queued(self, batch: list[_Pending]) -> bool:
        """Adds what is queued to `batch`, up to max_batch; whether stop() was asked for."""
        while len(batch) < self._max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                return False
            if nxt is None:
                return True
            batch.append(nxt)
        return False

    def _gather(self, batch: list[_Pending]) -> bool:
        """Waits, up to batch_wait (ERRLOG_INGEST_BATCH_WAIT_MS), for the events the loops that sent `batch` are
        preparing: each round asks every such loop to run what it has ready, then takes what it queued, until a round
        brings nothing. Whether stop() was asked for.

        A busy collector's loop is a millisecond away from queuing more when the writer wakes: waiting for it makes
        batches of 12 events instead of 7 at full load, whose writer and PostgreSQL take a sixth less CPU per event
        (bench/README.md, fourteenth pass). An idle loop answers at once: a lone event waits one wake-up."""
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self._max_batch:
            before = len(batch)
            for loop in {pending.loop for pending in batch}:
                left = deadline - time.monotonic()
                if left <= 0:
                    return self._take_queued(batch)
                ready = threading.Event()
                try:
                    loop.call_soon_threadsafe(ready.set)
                except RuntimeError:  # that loop has closed
                    continue
                ready.wait(left)
            if self._take_queued(batch):
                return True
            if len(batch) == before:
                return False
        return False

    def _write(self, batch: list[_Pending]) -> None:
        self._writing_since = time.monotonic()
        try:
            self._write_batch(batch)
        finally:
            self._writing_since = None

    def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            if not self.available and not self._probe():
                self._fail(batch, StorageUnavailable("storage is unavailable"))
                return
            outcomes = self._commit([p.item for p in batch])
        except Exception as exc:
            if _is_outage(exc):
                log.warning("storage unavailable: %s", exc)
                self.available = False
                self._fail(batch, StorageUnavailable("storage is unavailable"))
                threading.Thread(target=self._watch_recovery, name="errlog-db-probe", daemon=True).start()
                return
            # Something in the batch is unstorable: store one by one so one bad event spoils nothing else.
            log.warning("batch of %d failed (%s); storing one by one", len(batch), exc)
            for pending in batch:
                self._write_one(pending)
            return
        self._succeed(batch, outcomes)

    def _write_one(self, pending: _Pending) -> None:
        try:
            outcomes = self._commit([pending.item])
        except Exception as exc:
            if _is_outage(exc):
                self._fail([pending], StorageUnavailable("storage is unavailable"))
            else:
                reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
                self._fail([pending], EventRejected(f"the event could not be stored: {reason}"))
            return
        self._succeed([pending], outcomes)

    def _commit(self, items: list[PreparedEvent]) -> list[StoreOutcome]:
        # Each transaction is timed on its own: a batch stored one event at a time after a failure takes as long as
        # its commits together, and is not stuck for it.
        self._writing_since = time.monotonic()
        with self._turn, self._sessions() as session:
            outcomes = store_batch(session, items, now=dt.datetime.now(dt.UTC), archive=self._archive, commit=True)
            session.commit()
        self.batches_committed += 1
        return outcomes

    def _probe(self) -> bool:
        try:
            with self._sessions() as session:
                session.execute(text("SELECT 1"))
            if self._archive is not None:
                self._archive.ping()
        except (SQLAlchemyError, ArchiveUnavailable):
            return False
        self.available = True
        log.warning("storage is back")
        return True

    def _watch_recovery(self) -> None:
        """While storage is away requests fail fast; this brings ingestion back when it returns."""
        while not self.available:
            time.sleep(self._probe_interval)
            self._probe()

    def _settle(self, batch: list[_Pending]) -> None:
        with self._lock:
            self._pending -= len(batch)

    def _succeed(self, batch: list[_Pending], outcomes: list[StoreOutcome]) -> None:
        self._settle(batch)
        # One wake-up of each event loop per batch, not one per event: each call_soon_threadsafe writes to the
        # loop's self-pipe (a system call) and the loop wakes for it.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[StoreOutcome], StoreOutcome]]] = {}
        for pending, outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
        for loop, results in by_loop.items():
            loop.call_soon_threadsafe(_resolve_all, results)
        if self._on_committed is not None:
            try:
                self._on_committed(outcomes)
            except Exception:  # alerting must never undo or block storage
                log.exception("post-commit hook failed")

    def _fail(self, batch: list[_Pending], exc: Exception) -> None:
        self._settle(batch)
        for pending in batch:
            pending.loop.call_soon_threadsafe(_resolve, pending.future, None, exc)


def _resolve_all(results: list[tuple[asyncio.Future[StoreOutcome], StoreOutcome]]) -> None:
    for future, outcome in results:
        _resolve(future, outcome, None)


def _resolve(future: asyncio.Future[StoreOutcome], outcome: StoreOutcome | None, exc: Exception | None) -> None:
    if future.done():  # the request gave up waiting (client gone, timeout)
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert outcome is not None
        future.set_result(outcome)
