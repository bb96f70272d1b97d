"""The ingest service shared by the Sentry endpoints and the webhooks: auth, rate limits, prepare, store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from collector.directory import KeyInfo, ProjectDirectory
from collector.pipeline import prepare_event
from collector.ratelimit import Limit, RateLimiter, sentry_rate_limit_headers
from collector.responses import IngestError, unavailable
from collector.storage import StoreOutcome
from collector.writer import EventRejected, IngestWriter, Overloaded, StorageUnavailable
from db.enums import KeyKind

# How long a request waits for its commit before answering 503 (the SDK retries; event_id dedupes).
COMMIT_WAIT_SECONDS = 10.0


@dataclass
class Ingest:
    directory: ProjectDirectory
    writer: IngestWriter
    limiter: RateLimiter
    rate_limit_per_key: int = 0
    rate_limit_per_project: int = 0

    async def authenticate(self, kind: KeyKind, presented: str | None, *, project_id: int | None = None) -> KeyInfo:
        if not presented:
            what = "an ingest key (X-Sentry-Auth sentry_key, ?sentry_key= or the envelope dsn)"
            raise IngestError(403, f"missing {what if kind is KeyKind.DSN else 'webhook token'}")
        key = await self.directory.lookup(kind, presented)
        if key is None:
            raise IngestError(403, "unknown or revoked " + ("DSN key" if kind is KeyKind.DSN else "webhook token"))
        if project_id is not None and key.project.id != project_id:
            raise IngestError(403, f"this key belongs to another project than {project_id}")
        return key

    async def check_rate(self, key: KeyInfo, cost: int = 1) -> None:
        per_key = key.rate_limit_per_minute if key.rate_limit_per_minute is not None else self.rate_limit_per_key
        buckets = [
            ("key", f"key:{key.key_id}", Limit(per_key, max(per_key, 1))),
            (
                "project",
                f"project:{key.project.id}",
                Limit(self.rate_limit_per_project, max(self.rate_limit_per_project, 1)),
            ),
        ]
        active = [b for b in buckets if b[2].rate_per_minute > 0]
        for scope, _, limit in active:
            if cost > limit.burst:
                # It could never pass: a 429 would have the client retry forever.
                raise IngestError(
                    413,
                    f"a batch of {cost} events exceeds the {scope}'s rate limit of {limit.rate_per_minute} events per "
                    f"minute: send at most {limit.burst} per request",
                )
        decision = await self.limiter.acquire(active, cost)
        if not decision.allowed:
            raise IngestError(429, f"rate limit of the {decision.scope} exceeded", sentry_rate_limit_headers(decision))

    async def store(
        self, key: KeyInfo, events: Sequence[dict[str, Any]], *, source: str, size: int
    ) -> list[StoreOutcome]:
        """Prepare and store events; returns once all are committed, or raises IngestError."""
        prepared = [prepare_event(event, key.project, source=source, size_bytes=size) for event in events]
        try:
            # A timeout scope rather than wait_for: the usual single event is awaited in this task, no task or
            # gathering future of its own.
            async with asyncio.timeout(COMMIT_WAIT_SECONDS):
                if len(prepared) == 1:
                    return [await self.writer.submit(prepared[0])]
                return await asyncio.gather(*(self.writer.submit(item) for item in prepared))
        except StorageUnavailable:
            raise unavailable() from None
        except Overloaded:
            raise unavailable("the collector is overloaded, retry later", retry_after=2) from None
        except TimeoutError:
            raise unavailable("storage is slow to answer, retry later") from None
        except EventRejected as exc:
            raise IngestError(400, str(exc)) from None
