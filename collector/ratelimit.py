"""Token-bucket rate limits for ingestion, per ingest key and per project: in memory, or shared through Redis."""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)

SCOPES = frozenset({"key", "project"})
DEFAULT_PREFIX = "errlog:rl:"
DEFAULT_MAX_BUCKETS = 100_000

ERROR_CATEGORIES = ("default", "error", "security")
"""Sentry's data categories for error events (Relay's `DataCategory.error_categories()`).

An SDK files an `event` item under `error`; naming only these keeps it sending sessions, transactions and the rest.
"""

OUTAGE_WARNING_INTERVAL = 60.0
"""Seconds between two warnings that Redis is unreachable, so an outage cannot flood the log."""


@dataclass(frozen=True)
class Limit:
    """A token bucket: `burst` tokens at most, refilled at `rate_per_minute`. A rate <= 0 means unlimited."""

    rate_per_minute: int
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_minute > 0 and self.burst < 1:
            raise ValueError(
                f"a rate limit of {self.rate_per_minute}/min needs a burst of at least 1, not {self.burst}"
            )

    @property
    def unlimited(self) -> bool:
        return self.rate_per_minute <= 0


@dataclass(frozen=True)
class Decision:
    """The answer to one request: allowed, or refused by the limit of `scope` until `retry_after` seconds pass."""

    allowed: bool
    retry_after: float = 0.0
    scope: str | None = None


ALLOWED = Decision(allowed=True)

Bucket = tuple[str, str, Limit]
"""(scope, bucket id, limit): the scope is "key" or "project", the id names the key or project."""


class RateLimiter(Protocol):
    async def acquire(self, buckets: Sequence[Bucket], cost: int = 1) -> Decision:
        """Take `cost` tokens from every bucket, or from none of them if any has too few."""
        ...

    async def close(self) -> None: ...


def _active_buckets(buckets: Sequence[Bucket], cost: int) -> list[Bucket]:
    """The buckets that limit anything, after checking the request makes sense."""
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
        raise ValueError(f"cost must be a positive integer, not {cost!r}")
    seen: set[tuple[str, str]] = set()
    active = []
    for scope, bucket_id, limit in buckets:
        if scope not in SCOPES:
            raise ValueError(f"unknown rate limit scope {scope!r}: expected one of {sorted(SCOPES)}")
        if (scope, bucket_id) in seen:
            raise ValueError(f"bucket {scope}:{bucket_id} is named twice in one request")
        seen.add((scope, bucket_id))
        if limit.unlimited:
            continue
        if cost > limit.burst:
            # It could never succeed: refusing with a Retry-After would make the SDK retry forever.
            raise ValueError(f"cost {cost} exceeds the burst {limit.burst} of bucket {scope}:{bucket_id}")
        active.append((scope, bucket_id, limit))
    return active


@dataclass(slots=True)
class _BucketState:
    tokens: float
    updated: float


class MemoryRateLimiter:
    """Token buckets in this process, for a single collector and as the fallback when Redis is unreachable.

    `acquire` never awaits, so each call is atomic on its event loop; it is not meant to be shared across threads.
    Memory stays bounded: past `max_buckets` the least recently used bucket is dropped (it starts again full).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_buckets: int = DEFAULT_MAX_BUCKETS) -> None:
        if max_buckets < 1:
            raise ValueError(f"max_buckets must be at least 1, not {max_buckets}")
        self._clock = clock
        self._max_buckets = max_buckets
        self._buckets: OrderedDict[tuple[str, str], _BucketState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def acquire(self, buckets: Sequence[Bucket], cost: int = 1) -> Decision:
        active = _active_buckets(buckets, cost)
        if not active:
            return ALLOWED
        now = self._clock()
        levels = []
        refusal: Decision | None = None
        for scope, bucket_id, limit in active:
            state = self._buckets.get((scope, bucket_id))
            level = float(limit.burst)
            if state is not None:
                elapsed = max(0.0, now - state.updated)
                level = min(level, state.tokens + elapsed * limit.rate_per_minute / 60)
            levels.append(level)
            if level < cost:
                wait = (cost - level) * 60 / limit.rate_per_minute
                if refusal is None or wait > refusal.retry_after:
                    refusal = Decision(allowed=False, retry_after=wait, scope=scope)
        if refusal is not None:
            return refusal
        for (scope, bucket_id, _limit), level in zip(active, levels, strict=True):
            self._buckets[(scope, bucket_id)] = _BucketState(tokens=level - cost, updated=now)
            self._buckets.move_to_end((scope, bucket_id))
        while len(self._buckets) > self._max_buckets:
            self._buckets.popitem(last=False)
        return ALLOWED

    async def close(self) -> None:
        self._buckets.clear()


# KEYS: one hash per bucket ({tokens, ts}). ARGV[1]: cost; then rate per minute and burst for each key in turn.
# Returns {1, "0", 0} when every bucket gave its tokens, else {0, "<seconds to wait>", <index of the bucket>}.
# The wait goes back as a string because Redis truncates Lua numbers to integers.
_TAKE_SCRIPT = """
local cost = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local levels = {}
local wait, refused = 0, 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i]) / 60
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local level = burst
  if state[1] and state[2] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    level = math.min(burst, tonumber(state[1]) + elapsed * rate)
  end
  levels[i] = level
  if level < cost then
    local w = (cost - level) / rate
    if w > wait then
      wait, refused = w, i
    end
  end
end
if refused > 0 then
  return {0, tostring(wait), refused}
end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i]) / 60
  local burst = tonumber(ARGV[2 * i + 1])
  redis.call('HSET', KEYS[i], 'tokens', levels[i] - cost, 'ts', now)
  -- Once a bucket would have refilled, it is the same as no bucket: let it expire then.
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
end
return {1, '0', 0}
"""


class RedisRateLimiter:
    """Token buckets in Redis, shared by every collector process, taken atomically by one Lua script.

    If Redis fails, the request is judged by a local MemoryRateLimiter instead (a limiter outage must not lose
    events), Redis is left alone for `retry_interval` seconds so each request doesn't wait out a timeout, and
    then tried again.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 0.5,
        retry_interval: float = 2.0,
    ) -> None:
        # Imported here: redis-py is a tenth of a second of every collector's start, and the embedded default has no
        # Redis (errlog-tui's local collector waits for that start).
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        self._outages: tuple[type[Exception], ...] = (RedisError, OSError)
        # redis-py's default is 10 retries with backoff and 5 s timeouts: far too long to hold up an ingest request.
        self._redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1)
        )
        self._script = self._redis.register_script(_TAKE_SCRIPT)
        self._prefix = prefix
        self._clock = clock
        self._retry_interval = retry_interval
        self._fallback = MemoryRateLimiter(clock=clock)
        self._redis_paused_until = -math.inf
        self._last_warning: float | None = None
        self._degraded = False

    def redis_key(self, scope: str, bucket_id: str) -> str:
        return f"{self._prefix}{scope}:{bucket_id}"

    async def acquire(self, buckets: Sequence[Bucket], cost: int = 1) -> Decision:
        active = _active_buckets(buckets, cost)
        if not active:
            return ALLOWED
        if self._clock() < self._redis_paused_until:
            return await self._fallback.acquire(active, cost)
        try:
            decision = await self._take(active, cost)
        except self._outages as exc:
            self._note_outage(exc)
            return await self._fallback.acquire(active, cost)
        if self._degraded:
            self._degraded = False
            logger.warning("Redis is reachable again: rate limits are shared between collectors once more")
        return decision

    async def _take(self, active: list[Bucket], cost: int) -> Decision:
        keys = [self.redis_key(scope, bucket_id) for scope, bucket_id, _ in active]
        args: list[int] = [cost]
        for _, _, limit in active:
            args += [limit.rate_per_minute, limit.burst]
        allowed, wait, index = await self._script(keys=keys, args=args)
        if allowed:
            return ALLOWED
        return Decision(allowed=False, retry_after=float(wait), scope=active[int(index) - 1][0])

    def _note_outage(self, exc: Exception) -> None:
        now = self._clock()
        self._degraded = True
        self._redis_paused_until = now + self._retry_interval
        if self._last_warning is None or now - self._last_warning >= OUTAGE_WARNING_INTERVAL:
            self._last_warning = now
            logger.warning("Redis is unreachable (%s): rate limits are per collector process until it returns", exc)

    async def close(self) -> None:
        await self._redis.aclose()
        await self._fallback.close()


def make_rate_limiter(redis_url: str | None, *, prefix: str = DEFAULT_PREFIX) -> RateLimiter:
    """Limits shared through Redis when a URL is configured, else kept in this process."""
    if redis_url:
        return RedisRateLimiter(redis_url, prefix=prefix)
    return MemoryRateLimiter()


def sentry_rate_limit_headers(decision: Decision, *, categories: Sequence[str] = ERROR_CATEGORIES) -> dict[str, str]:
    """`Retry-After` and `X-Sentry-Rate-Limits` for a refusal (none for an allowed request).

    The Sentry header is `retry_after:categories:scope` (develop.sentry.dev, "Rate Limiting"). Both carry whole
    seconds: the Python SDK reads the Sentry header's retry_after with `int()` and ignores a limit it can't parse.
    """
    if decision.allowed:
        return {}
    seconds = max(1, math.ceil(decision.retry_after))
    limit = f"{seconds}:{';'.join(categories)}"
    if decision.scope:
        limit += f":{decision.scope}"
    return {"Retry-After": str(seconds), "X-Sentry-Rate-Limits": limit}
