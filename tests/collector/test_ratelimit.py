"""Tests for the ingest rate limits: memory buckets on a fake clock, Redis buckets shared by two limiters, headers."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio
from sentry_sdk.transport import _parse_rate_limits

from collector.ratelimit import (
    Decision,
    Limit,
    MemoryRateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
    sentry_rate_limit_headers,
)

REDIS_URL = os.environ.get("ERRLOG_TEST_REDIS_URL")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def key(bucket_id: str, rate_per_minute: int, burst: int) -> tuple[str, str, Limit]:
    return ("key", bucket_id, Limit(rate_per_minute, burst))


def project(bucket_id: str, rate_per_minute: int, burst: int) -> tuple[str, str, Limit]:
    return ("project", bucket_id, Limit(rate_per_minute, burst))


REFUSED_BY_KEY = Decision(allowed=False, retry_after=1.0, scope="key")


# --- memory limiter ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_memory_allows_the_burst_then_refuses_until_a_token_refills() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    buckets = [key("k", 60, 3)]  # one token a second

    assert [(await limiter.acquire(buckets)).allowed for _ in range(4)] == [True, True, True, False]
    assert await limiter.acquire(buckets) == REFUSED_BY_KEY

    clock.advance(0.5)
    assert await limiter.acquire(buckets) == Decision(allowed=False, retry_after=0.5, scope="key")
    clock.advance(0.5)
    assert (await limiter.acquire(buckets)).allowed
    assert not (await limiter.acquire(buckets)).allowed


@pytest.mark.anyio
async def test_memory_refills_no_further_than_the_burst() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    buckets = [key("k", 60, 3)]
    for _ in range(3):
        await limiter.acquire(buckets)

    clock.advance(3600)

    assert [(await limiter.acquire(buckets)).allowed for _ in range(4)] == [True, True, True, False]


@pytest.mark.anyio
async def test_memory_retry_after_is_the_time_until_the_cost_is_covered() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    buckets = [key("k", 30, 4)]  # one token every two seconds
    assert (await limiter.acquire(buckets, cost=3)).allowed

    assert await limiter.acquire(buckets, cost=3) == Decision(allowed=False, retry_after=4.0, scope="key")
    assert (await limiter.acquire(buckets, cost=1)).allowed


@pytest.mark.anyio
async def test_memory_a_refusal_takes_no_token_from_any_bucket() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    both = [key("k", 60, 5), project("p", 60, 2)]
    assert (await limiter.acquire(both)).allowed
    assert (await limiter.acquire(both)).allowed

    assert await limiter.acquire(both) == Decision(allowed=False, retry_after=1.0, scope="project")

    # The key bucket gave 2 of its 5 tokens, none for the refused request.
    key_only = [key("k", 60, 5)]
    assert [(await limiter.acquire(key_only)).allowed for _ in range(4)] == [True, True, True, False]


@pytest.mark.anyio
async def test_memory_names_the_limit_that_holds_the_request_longest() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())
    both = [key("k", 60, 1), project("p", 6, 1)]
    assert (await limiter.acquire(both)).allowed

    assert await limiter.acquire(both) == Decision(allowed=False, retry_after=10.0, scope="project")


@pytest.mark.anyio
async def test_memory_unlimited_buckets_are_skipped() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())
    unlimited_key = ("key", "k", Limit(0, 0))

    assert all([(await limiter.acquire([unlimited_key])).allowed for _ in range(1000)])
    assert len(limiter) == 0
    decisions = [await limiter.acquire([unlimited_key, project("p", 60, 2)]) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[-1].scope == "project"


@pytest.mark.anyio
async def test_memory_keeps_at_most_max_buckets_dropping_the_least_recently_used() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock(), max_buckets=3)
    for name in "abc":
        assert (await limiter.acquire([key(name, 1, 1)])).allowed

    assert (await limiter.acquire([key("d", 1, 1)])).allowed

    assert len(limiter) == 3
    assert not (await limiter.acquire([key("c", 1, 1)])).allowed  # still held, still empty
    assert (await limiter.acquire([key("a", 1, 1)])).allowed  # evicted, so it starts full again
    for number in range(1000):
        await limiter.acquire([project(str(number), 1, 1)])
    assert len(limiter) == 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("buckets", "cost", "message"),
    [
        ([key("k", 60, 3)], 0, "cost must be a positive integer"),
        ([key("k", 60, 3)], 4, "exceeds the burst 3"),
        ([("org", "o", Limit(60, 3))], 1, "unknown rate limit scope 'org'"),
        ([key("k", 60, 3), key("k", 60, 3)], 1, "named twice"),
    ],
    ids=["zero-cost", "cost-above-burst", "unknown-scope", "duplicate-bucket"],
)
async def test_bad_requests_get_a_clear_error(buckets: list[tuple[str, str, Limit]], cost: int, message: str) -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())
    with pytest.raises(ValueError, match=message):
        await limiter.acquire(buckets, cost=cost)


def test_a_limited_bucket_needs_room_for_one_token() -> None:
    with pytest.raises(ValueError, match="burst of at least 1"):
        Limit(rate_per_minute=60, burst=0)
    assert Limit(rate_per_minute=0, burst=0).unlimited


@pytest.mark.anyio
async def test_make_rate_limiter_picks_redis_only_when_configured() -> None:
    memory = make_rate_limiter(None)
    shared = make_rate_limiter("redis://127.0.0.1:6379/15", prefix="errlog:test:")
    try:
        assert isinstance(memory, MemoryRateLimiter)
        assert isinstance(shared, RedisRateLimiter)
        assert shared.redis_key("key", "abc") == "errlog:test:key:abc"
    finally:
        await memory.close()
        await shared.close()


# --- Redis limiter ----------------------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("ERRLOG_TEST_REDIS_URL is not set: no Redis to test the shared limiter against")
    return REDIS_URL


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own, so runs never share buckets; its keys are deleted afterwards."""
    prefix = f"errlog:test:{uuid.uuid4().hex}:"
    yield prefix
    keys = [k async for k in redis_client.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis_client.delete(*keys)


async def redis_keys(client: redis.asyncio.Redis, prefix: str) -> set[str]:
    return {k.decode() async for k in client.scan_iter(match=f"{prefix}*")}


@pytest.mark.redis
@pytest.mark.anyio
async def test_redis_two_collectors_share_one_bucket(redis_url: str, prefix: str) -> None:
    first = RedisRateLimiter(redis_url, prefix=prefix)
    second = RedisRateLimiter(redis_url, prefix=prefix)
    buckets = [key("k", 1, 3)]
    try:
        assert (await first.acquire(buckets)).allowed
        assert (await second.acquire(buckets)).allowed
        assert (await first.acquire(buckets)).allowed

        refused = await second.acquire(buckets)
        assert not refused.allowed
        assert refused.scope == "key"
        assert 0 < refused.retry_after <= 60
        assert not (await first.acquire(buckets)).allowed
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
@pytest.mark.anyio
async def test_redis_a_refusal_takes_no_token_from_any_bucket(redis_url: str, prefix: str) -> None:
    first = RedisRateLimiter(redis_url, prefix=prefix)
    second = RedisRateLimiter(redis_url, prefix=prefix)
    both = [key("k", 1, 5), project("p", 1, 2)]
    try:
        assert (await first.acquire(both)).allowed
        assert (await first.acquire(both)).allowed
        refused = await first.acquire(both)
        assert (refused.allowed, refused.scope) == (False, "project")

        key_only = [key("k", 1, 5)]
        assert [(await second.acquire(key_only)).allowed for _ in range(4)] == [True, True, True, False]
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
@pytest.mark.anyio
async def test_redis_buckets_expire_once_they_would_be_full(
    redis_url: str, prefix: str, redis_client: redis.asyncio.Redis
) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=prefix)
    try:
        assert (await limiter.acquire([key("k", 1, 3), project("p", 60, 10), ("key", "free", Limit(0, 0))])).allowed
    finally:
        await limiter.close()

    assert await redis_keys(redis_client, prefix) == {f"{prefix}key:k", f"{prefix}project:p"}
    # Refilling 3 tokens at 1/min takes 180 s, 10 at 60/min 10 s; each gets a second's slack.
    assert 0 < await redis_client.pttl(f"{prefix}key:k") <= 181_000
    assert 0 < await redis_client.pttl(f"{prefix}project:p") <= 11_000


@pytest.mark.redis
@pytest.mark.anyio
async def test_redis_reloads_the_script_when_the_server_has_lost_it(redis_url: str, prefix: str) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=prefix)
    # A sha the server has never seen gets NOSCRIPT, as after a Redis restart or SCRIPT FLUSH (not run here:
    # it would flush the scripts of every other client of this server).
    limiter._script.sha = "0" * 40
    try:
        assert (await limiter.acquire([key("k", 1, 1)])).allowed
        assert not (await limiter.acquire([key("k", 1, 1)])).allowed
    finally:
        await limiter.close()
    assert limiter._script.sha != "0" * 40


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "unreachable" in r.message]


@pytest.mark.anyio
async def test_unreachable_redis_falls_back_to_local_limits_and_warns_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{closed_port()}/0", clock=clock, retry_interval=2.0)
    buckets = [key("k", 60, 2)]
    caplog.set_level(logging.WARNING, logger="collector.ratelimit")
    try:
        decisions = [await limiter.acquire(buckets) for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert decisions[-1].scope == "key"

        clock.advance(3)  # past the retry interval: Redis is tried again, and fails again
        assert (await limiter.acquire(buckets)).allowed
        assert len(outage_warnings(caplog)) == 1

        clock.advance(60)
        assert (await limiter.acquire(buckets)).allowed
        assert len(outage_warnings(caplog)) == 2
    finally:
        await limiter.close()


class TcpProxy:
    """Forwards a local port to Redis; stopping it cuts every connection, as a Redis outage would."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        return int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._writers.clear()
        self._tasks.clear()


@pytest.mark.redis
@pytest.mark.anyio
async def test_the_shared_limits_come_back_when_redis_does(
    redis_url: str, prefix: str, redis_client: redis.asyncio.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    port = await proxy.start()
    userinfo = target.netloc.rpartition("@")[0]
    through_proxy = urlunsplit(target._replace(netloc=f"{userinfo}@" * bool(userinfo) + f"127.0.0.1:{port}"))
    clock = FakeClock()
    limiter = RedisRateLimiter(through_proxy, prefix=prefix, clock=clock, retry_interval=2.0)
    caplog.set_level(logging.WARNING, logger="collector.ratelimit")
    try:
        assert (await limiter.acquire([key("before", 1, 5)])).allowed
        assert await redis_keys(redis_client, prefix) == {f"{prefix}key:before"}

        await proxy.stop()
        assert (await limiter.acquire([key("during", 1, 5)])).allowed
        assert await redis_keys(redis_client, prefix) == {f"{prefix}key:before"}
        assert len(outage_warnings(caplog)) == 1

        await proxy.start(port)
        clock.advance(3)
        assert (await limiter.acquire([key("after", 1, 5)])).allowed
        assert await redis_keys(redis_client, prefix) == {f"{prefix}key:before", f"{prefix}key:after"}
        assert any("reachable again" in r.getMessage() for r in caplog.records)
    finally:
        await limiter.close()
        await proxy.stop()


# --- Sentry response headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "scope", "expected"),
    [
        (0.2, "key", {"Retry-After": "1", "X-Sentry-Rate-Limits": "1:default;error;security:key"}),
        (59.01, "project", {"Retry-After": "60", "X-Sentry-Rate-Limits": "60:default;error;security:project"}),
        (2.0, "key", {"Retry-After": "2", "X-Sentry-Rate-Limits": "2:default;error;security:key"}),
        (0.0, None, {"Retry-After": "1", "X-Sentry-Rate-Limits": "1:default;error;security"}),
    ],
)
def test_headers_carry_whole_seconds_rounded_up(retry_after: float, scope: str | None, expected: dict) -> None:
    assert sentry_rate_limit_headers(Decision(allowed=False, retry_after=retry_after, scope=scope)) == expected


def test_headers_for_other_categories() -> None:
    decision = Decision(allowed=False, retry_after=4.5, scope="project")
    headers = sentry_rate_limit_headers(decision, categories=["transaction"])
    assert headers["X-Sentry-Rate-Limits"] == "5:transaction:project"


def test_an_allowed_request_gets_no_rate_limit_headers() -> None:
    assert sentry_rate_limit_headers(Decision(allowed=True)) == {}


def test_the_python_sdk_backs_off_errors_only() -> None:
    headers = sentry_rate_limit_headers(Decision(allowed=False, retry_after=59.5, scope="key"))
    now = datetime(2024, 1, 1, tzinfo=UTC)

    limits = dict(_parse_rate_limits(headers["X-Sentry-Rate-Limits"], now=now))

    # No `None` entry (which would stop every category): sessions and transactions keep flowing.
    assert limits == {category: now + timedelta(seconds=60) for category in ("default", "error", "security")}
