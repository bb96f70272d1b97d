"""The load generator's core: N async senders replaying envelopes, closed-loop or at a fixed open-loop rate."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import math
import os
import resource
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from bench.corpus import Body
from bench.rawhttp import RawClient

# httpcore asks `import sniffio` on every request; when it is not installed each failed import searches
# sys.path again, which costs more than the request. None in sys.modules makes the import fail at once
# (the same answer, "not installed": httpcore then assumes asyncio, which this is).
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SDK_CLIENT = "sentry.python/2 errlog-bench"


class LoadError(Exception):
    """The load cannot be run as asked (a remote target, a bad DSN, impossible settings)."""


@dataclass(frozen=True)
class Target:
    """Where envelopes go: the envelope endpoint of one project, and the key to present."""

    endpoint: str
    public_key: str
    project_id: int

    @classmethod
    def from_dsn(cls, dsn: str, base_url: str | None = None) -> Target:
        """The target of a Sentry DSN (http://KEY@HOST:PORT/PROJECT_ID), optionally at another base URL."""
        parts = urlsplit(dsn)
        project = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if not parts.username or not project.isdigit() or parts.scheme not in ("http", "https"):
            raise LoadError(f"not a DSN: {dsn!r} (expected http://KEY@HOST:PORT/PROJECT_ID)")
        base = (base_url or f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}").rstrip("/")
        host = urlsplit(base).hostname
        if host not in LOCAL_HOSTS:
            raise LoadError(f"the benchmark only sends to this machine (127.0.0.1), not to {host}")
        return cls(endpoint=f"{base}/api/{project}/envelope/", public_key=parts.username, project_id=int(project))

    def headers(self, encoding: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/x-sentry-envelope",
            "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={self.public_key}, sentry_client={SDK_CLIENT}",
        }
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        return headers


@dataclass
class Phase:
    """What happened to the requests of one phase (warm-up or measurement)."""

    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, from intended send time to answer
    service: list[float] = field(default_factory=list)  # seconds, from actual send to answer
    bytes_sent: int = 0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def accepted(self) -> int:
        return sum(count for status, count in self.statuses.items() if status.startswith("2"))


@dataclass
class RunResult:
    warmup: Phase  # requests due before the measurement began
    measured: Phase  # requests due in it: their latencies are the ones reported
    window: Counter[str]  # statuses of the answers that arrived during the measurement, whenever due
    seconds: float  # from the start of the measurement to its last answer
    generator_cpu_seconds: float  # of this process, over the same time
    last_errors: list[str]

    @property
    def accepted_per_second(self) -> float:
        """2xx answers per second while measuring: what the collector committed, backlog or not."""
        return sum(n for status, n in self.window.items() if status.startswith("2")) / self.seconds


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 < fraction <= 1) of `values`; NaN when there are none."""
    if not values:
        return float("nan")
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


class Client(Protocol):
    async def post(self, body: bytes) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class _HttpxClient:
    def __init__(self, target: Target, headers: dict[str, str], timeout: float) -> None:
        # One connection per client and one client per sender: httpcore's pool scans all its connections
        # on each request, so one shared pool of N connections would cost O(N) per send.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._client = httpx.AsyncClient(limits=limits, timeout=timeout, headers=headers)
        self._url = target.endpoint

    async def post(self, body: bytes) -> tuple[int, bytes]:
        response = await self._client.post(self._url, content=body)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self._client.aclose()


class _RawClient:
    def __init__(self, target: Target, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(target.endpoint)
        self._client = RawClient(parts.hostname or "127.0.0.1", parts.port or 80, headers, timeout)
        self._path = parts.path

    async def post(self, body: bytes) -> tuple[int, bytes]:
        return await self._client.post(self._path, body)

    async def aclose(self) -> None:
        await self._client.aclose()


CLIENTS = ("raw", "httpx")


def make_client(kind: str, target: Target, headers: dict[str, str], timeout: float) -> Client:
    """A sender's own HTTP client: "raw" (bench/rawhttp.py, cheap) or "httpx" (the reference client)."""
    if kind == "httpx":
        return _HttpxClient(target, headers, timeout)
    if kind == "raw":
        if urlsplit(target.endpoint).scheme != "http":
            raise LoadError("the raw client speaks plain http only; use --client httpx")
        return _RawClient(target, headers, timeout)
    raise LoadError(f"unknown client {kind!r}; use one of {', '.join(CLIENTS)}")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_load(
    target: Target,
    bodies: Sequence[Body],
    *,
    concurrency: int,
    duration: float,
    warmup: float = 0.0,
    rate: float = 0.0,
    max_requests: int = 0,
    timeout: float = 30.0,
    client_kind: str = "raw",
    on_measure_start: Callable[[], Awaitable[None] | None] | None = None,
) -> RunResult:
    """Send envelopes for `warmup` + `duration` seconds with `concurrency` keep-alive connections.

    `rate` 0 is closed-loop (each sender sends its next envelope as soon as the previous one is answered);
    otherwise request i is due at start + i/rate, and its latency counts from then, so a slow answer
    delays later requests' numbers instead of hiding them (no coordinated omission). `max_requests`
    (0: none) bounds the count as `duration` bounds the time.
    """
    if concurrency < 1 or duration <= 0 or warmup < 0 or rate < 0 or max_requests < 0:
        raise LoadError("concurrency must be >= 1, duration > 0, and warm-up, rate and max-requests >= 0")
    if not bodies:
        raise LoadError("no envelopes to send")
    encoding = bodies[0].encoding
    headers = target.headers(encoding)
    warm, measured, window = Phase(), Phase(), Counter[str]()
    errors: list[str] = []
    slots = itertools.count()
    # Times from perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds.
    clock = time.perf_counter
    start = clock()
    measure_from = start + warmup
    stop_at = measure_from + duration
    marks: dict[str, float] = {}

    async def sender() -> None:
        client = make_client(client_kind, target, headers, timeout)
        try:
            await _send_until_done(client)
        finally:
            await client.aclose()

    async def _send_until_done(client: Client) -> None:
        while True:
            slot = next(slots)
            if max_requests and slot >= max_requests:
                return
            now = clock()
            due = start + slot / rate if rate else now
            # A sender that fell behind the rate stops at the end too: the run stays bounded.
            if due >= stop_at or now >= stop_at:
                return
            if due > now:
                await asyncio.sleep(due - now)
            body = bodies[slot % len(bodies)].render(uuid.uuid4().hex)
            sent_at = clock()
            try:
                code, answer = await client.post(body)
                status = str(code)
                if code >= 400 and len(errors) < 20:
                    errors.append(f"{status}: {answer[:200].decode(errors='replace')}")
            except (httpx.HTTPError, OSError) as exc:  # ConnectionError and TimeoutError are OSErrors
                status = f"error:{type(exc).__name__}"
                if len(errors) < 20:
                    errors.append(f"{status}: {exc}")
            done = clock()
            phase = measured if due >= measure_from else warm
            phase.statuses[status] += 1
            phase.latencies.append(done - due)
            phase.service.append(done - sent_at)
            phase.bytes_sent += len(body)
            if done >= measure_from:
                window[status] += 1
                marks["last"] = max(marks.get("last", done), done)

    async def measuring() -> float:
        await asyncio.sleep(max(0.0, measure_from - clock()))
        if on_measure_start is not None:
            started = on_measure_start()
            if started is not None:
                await started
        return _cpu_seconds()

    cpu_task = asyncio.create_task(measuring())
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    if cpu_task.done():
        cpu = _cpu_seconds() - cpu_task.result()
    else:  # stopped by --max-requests before the warm-up ended
        cpu_task.cancel()
        cpu = 0.0
    seconds = marks["last"] - measure_from if "last" in marks else 0.0
    return RunResult(warm, measured, window, max(seconds, 1e-9), cpu, errors)


def machine() -> dict[str, object]:
    """What the results were measured on."""
    memory_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1), "cpu": model}
