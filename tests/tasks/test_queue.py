"""The Huey instance from settings: Redis or a lazily created SQLite file, locks that expire, a clear error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from errlog.settings import SettingsError, load_settings
from tasks.queue import QueueError, RedisQueue, SqliteQueue, check_queue, create_huey, describe_queue
from tests.tasks.receivers import free_port


def test_without_redis_the_queue_is_a_sqlite_file_made_on_first_use(isolated_environment: Path) -> None:
    queue = create_huey(load_settings())
    assert isinstance(queue.storage, SqliteQueue)
    assert queue.storage.name == "errlog"
    tasks_db = isolated_environment / "tasks.db"
    assert not tasks_db.exists()  # importing the tasks (the collector does) touches no file
    check_queue(queue)
    assert tasks_db.is_file()
    assert describe_queue(queue) == f"SQLite {tasks_db} queue 'errlog'"


def test_the_queue_opens_with_the_settings_of_its_first_use(
    isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = create_huey()  # as tasks.queue makes `huey` when the tasks are imported
    monkeypatch.setenv("ERRLOG_DATA_DIR", str(isolated_environment / "later"))
    monkeypatch.setenv("ERRLOG_QUEUE_NAME", "later_name")
    assert isinstance(queue.storage, SqliteQueue)
    assert queue.storage.filename == str(isolated_environment / "later" / "tasks.db")
    assert queue.storage.name == "later_name"
    queue.immediate = True  # tests run tasks in place, on memory
    assert not isinstance(queue.storage, SqliteQueue)
    queue.immediate = False
    monkeypatch.setenv("ERRLOG_REDIS_URL", "redis://127.0.0.1:1/0")
    assert isinstance(queue.storage, RedisQueue)  # reopened from the settings of now


def test_with_redis_the_queue_is_redis() -> None:
    queue = create_huey(load_settings(redis_url="redis://:hunter2@10.1.2.3:6380/4", queue_name="shop_errors"))
    assert isinstance(queue.storage, RedisQueue)
    assert queue.storage.blocking  # an idle worker takes a task the moment it is queued
    assert queue.storage.name == "shop_errors"
    assert describe_queue(queue) == "Redis 10.1.2.3:6380/4 queue 'shop_errors'"


def test_an_unreachable_redis_is_one_clear_error() -> None:
    queue = create_huey(load_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(QueueError, match=r"cannot use the task queue \(Redis 127\.0\.0\.1:\d+/0 queue 'errlog'\)"):
        check_queue(queue)


def test_queue_names_are_checked() -> None:
    with pytest.raises(SettingsError, match="ERRLOG_QUEUE_NAME"):
        load_settings(queue_name="my queue!")


def test_sqlite_locks_expire(tmp_path: Path) -> None:
    storage = SqliteQueue("t", filename=str(tmp_path / "q.db"))
    assert storage.put_if_empty("lock", b"1", ttl=60)
    assert not storage.put_if_empty("lock", b"1", ttl=60)  # held
    assert storage.put_if_empty("stale", b"1", ttl=0)  # a holder that died: expired at once
    assert storage.put_if_empty("stale", b"1", ttl=60)
    assert storage.put_if_empty("plain", b"1")
    assert not storage.put_if_empty("plain", b"1", ttl=60)  # a lock without a TTL is held until released


@pytest.fixture
def redis_storage(redis_url: str) -> Iterator[RedisQueue]:
    storage = RedisQueue(f"errlog_test_{uuid.uuid4().hex[:10]}", url=redis_url)
    try:
        yield storage
    finally:
        storage.flush_all()


@pytest.mark.redis
def test_redis_locks_expire_on_any_redis(redis_storage: RedisQueue) -> None:
    assert redis_storage.put_if_empty("lock", b"1", ttl=60)
    assert not redis_storage.put_if_empty("lock", b"1", ttl=60)
    assert redis_storage.put_if_empty("stale", b"1", ttl=0)
    assert redis_storage.put_if_empty("stale", b"1", ttl=60)
    assert redis_storage.put_if_empty("plain", b"1")
    assert not redis_storage.put_if_empty("plain", b"1", ttl=60)
    redis_storage.pop_data("lock")  # released
    assert redis_storage.put_if_empty("lock", b"1", ttl=60)
