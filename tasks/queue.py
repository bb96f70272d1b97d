"""The one Huey instance (Redis when ERRLOG_REDIS_URL is set, else SQLite) and what tasks share in a process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from huey import Huey
from huey.storage import BaseStorage, RedisStorage, SqliteStorage
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.session import open_database, session_scope
from errlog.settings import Settings, load_settings

log = logging.getLogger(__name__)


class QueueError(Exception):
    """The task queue cannot be reached as configured."""


# A lock's value while it is held: when it expires, so a worker killed while holding it (a crash, an OOM kill)
# does not keep a periodic job from ever running again.
_UNTIL = "until:"


def _lock_expired(held: bytes | str | memoryview, now: float) -> bool:
    text = bytes(held).decode() if not isinstance(held, str) else held
    if not text.startswith(_UNTIL):
        return False  # a lock taken without a TTL: held until released
    try:
        return float(text.removeprefix(_UNTIL)) <= now
    except ValueError:
        return False


_PUT_IF_FREE_LUA = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
    local expiry = string.match(held, '^until:(.+)$')
    if not expiry or tonumber(expiry) == nil or tonumber(expiry) > tonumber(ARGV[3]) then
        return 0
    end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisQueue(RedisStorage):
    """Huey's Redis storage with lock TTLs on any Redis (Huey's own need Redis 7.4's hash-field expiry)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._put_if_free = self.conn.register_script(_PUT_IF_FREE_LUA)

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if ttl is None:
            return bool(super().put_if_empty(key, value))
        now = time.time()
        return bool(self._put_if_free(keys=[self.result_key], args=[key, f"{_UNTIL}{now + ttl}", now]))


class SqliteQueue(SqliteStorage):
    """Huey's SQLite storage, creating its file (and folder) on first use rather than when the tasks are imported,
    and with lock TTLs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["create_tables"] = False  # created with the first connection instead
        super().__init__(*args, **kwargs)

    def _create_connection(self) -> Any:
        Path(self.filename).parent.mkdir(parents=True, exist_ok=True)
        conn = super()._create_connection()
        for statement in self.ddl:  # all "if (not) exists": cheap and safe on every new connection
            conn.execute(statement)
        return conn

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if ttl is None:
            return bool(super().put_if_empty(key, value))
        now = time.time()
        with self.db(commit=True) as cursor:  # BEGIN EXCLUSIVE: the read and the write are one step
            cursor.execute("select value from kv where queue = ? and key = ?", (self.name, key))
            row = cursor.fetchone()
            if row is not None and not _lock_expired(row[0], now):
                return False
            cursor.execute(
                "insert or replace into kv (queue, key, value) values (?, ?, ?)",
                (self.name, key, self.to_blob(f"{_UNTIL}{now + ttl}".encode())),
            )
            return True


def open_storage(settings: Settings) -> BaseStorage:
    """Redis (blocking reads: an idle worker takes an alert the moment it is queued) when ERRLOG_REDIS_URL is set,
    else a SQLite file in the data dir."""
    if settings.redis_url:
        return RedisQueue(settings.queue_name, url=settings.redis_url)
    return SqliteQueue(settings.queue_name, filename=str(settings.huey_sqlite_path))


class ErrlogHuey(Huey):
    """Huey whose queue is opened on first use, from the settings of that moment (or the ones given): importing
    the tasks, as the collector and the tests do, reads no configuration, connects to nothing and creates no file.
    Task results are never read, so none are stored."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._opened: BaseStorage | None = None
        self._opening = threading.Lock()
        # The queue's own name (ERRLOG_QUEUE_NAME) namespaces its storage; this one only prefixes lock names.
        super().__init__("errlog", results=False)

    def create_storage(self) -> BaseStorage | None:
        # Huey calls this when created and when `immediate` changes: immediate mode runs on memory; otherwise
        # None, so the configured queue is opened on next use.
        return self.get_immediate_storage() if self._immediate else None

    @property
    def storage(self) -> BaseStorage:
        opened = self._opened
        if opened is None:
            with self._opening:
                if self._opened is None:
                    self._opened = open_storage(self._settings or load_settings())
                opened = self._opened
        return opened

    @storage.setter
    def storage(self, value: BaseStorage | None) -> None:
        self._opened = value


def create_huey(settings: Settings | None = None) -> Huey:
    """The task queue for `settings` (None: the settings read when it is first used)."""
    return ErrlogHuey(settings)


def describe_queue(queue: Huey) -> str:
    """Where the queue lives, passwords hidden, for log lines."""
    storage = queue.storage
    if isinstance(storage, RedisStorage):
        kwargs = storage.pool.connection_kwargs
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
        return f"Redis {where} queue {storage.name!r}"
    if isinstance(storage, SqliteStorage):
        return f"SQLite {storage.filename} queue {storage.name!r}"
    return f"{type(storage).__name__} queue {storage.name!r}"


def check_queue(queue: Huey) -> None:
    """Raise QueueError unless the queue's storage answers."""
    try:
        if isinstance(queue.storage, RedisStorage):
            queue.storage.conn.ping()
        else:
            queue.storage.queue_size()
    except Exception as exc:  # redis ConnectionError, sqlite3.OperationalError...
        raise QueueError(f"cannot use the task queue ({describe_queue(queue)}): {exc}") from None


class TaskRuntime:
    """The settings and the database session factory tasks use in this process, opened on first use (or when a
    worker starts) and shared by its worker threads. Tasks take ids and open a session each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @property
    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                self._settings = load_settings()
            return self._settings

    def sessions(self) -> sessionmaker[Session]:
        settings = self.settings
        with self._lock:
            if self._sessions is None:
                self._engine, self._sessions = open_database(
                    settings.effective_database_url, auto_upgrade=settings.uses_embedded_database
                )
            return self._sessions

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back otherwise."""
        with session_scope(self.sessions()) as session:
            yield session

    def configure(self, settings: Settings | None = None) -> None:
        """Use `settings` from now on (None: read them again on next use); the database reopens with them."""
        self.close()
        with self._lock:
            self._settings = settings

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = self._sessions = None


huey = create_huey()
runtime = TaskRuntime()


@huey.on_startup()
def _open_database() -> None:
    # Each worker thread calls this; the first opens (and, for the embedded SQLite default, migrates) the database.
    runtime.sessions()
