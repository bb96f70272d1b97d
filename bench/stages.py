"""CPU per event of each step of the ingest path, run in-process on the corpus: where a collector's time goes.

    python -m bench.stages [--database-url URL --fresh-db] [--batch 32] [--passes 1]

Each step runs over every corpus envelope with the previous step's output, timed with the process clock.
Storage runs the collector's own `store_batch` in batches of --batch, as the writer thread does, and also
reports wall time and, on PostgreSQL, the CPU its server process used per event. --passes N stores the corpus
N times (under new event ids after the first), for steadier storage figures. Subtracting the sum from the CPU
per event that `bench.ingest` measures for the whole server leaves the HTTP layer's share (uvicorn, Starlette).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text

from bench.corpus import DEFAULT_CORPUS, Body, CorpusError, read_corpus
from bench.procstat import cpu_seconds
from bench.servers import Database, ServerError
from collector.body import MAX_COMPRESSED_REQUEST_SIZE, MAX_ENVELOPE_SIZE, read_body
from collector.envelope import event_id_of, extract_event, parse_envelope
from collector.grouping import group
from collector.normalize import normalize_sentry_event
from collector.pipeline import ProjectInfo, prepare_event
from collector.scrub import ScrubRules, scrub_event
from collector.storage import store_batch
from db.session import create_db_engine, make_session_factory

T = TypeVar("T")
R = TypeVar("R")


def timed(name: str, inputs: list[T], step: Callable[[T], R], results: list[tuple[str, float]]) -> list[R]:
    started = time.process_time()
    outputs = [step(item) for item in inputs]
    results.append((name, (time.process_time() - started) / len(inputs)))
    return outputs


async def _one_chunk(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _decode_all(bodies: list[bytes]) -> list[bytes]:
    async def run() -> list[bytes]:
        return [
            await read_body(
                _one_chunk(body), "gzip", max_compressed=MAX_COMPRESSED_REQUEST_SIZE, max_decompressed=MAX_ENVELOPE_SIZE
            )
            for body in bodies
        ]

    return asyncio.run(run())


def prepared_events(records: list[Any], project_id: int = 1) -> list[Any]:
    """The corpus's events as the collector hands them to storage: decoded, parsed, normalised and prepared."""
    received_at = dt.datetime.now(dt.UTC)
    project = ProjectInfo(id=project_id, name="stages", scrub_rules=ScrubRules.from_settings())
    prepared = []
    for body in _decode_all([Body(record, "gzip").render(record.event_id) for record in records]):
        envelope = parse_envelope(body, max_item_size=MAX_ENVELOPE_SIZE)
        content = extract_event(envelope)
        assert content.event is not None  # every corpus envelope holds an event
        event_id = event_id_of(envelope, content.event)
        event = normalize_sentry_event(content.event, received_at=received_at, event_id=event_id)
        prepared.append(prepare_event(event, project, source="sentry", size_bytes=len(body)))
    return prepared


def measure(
    records: list[Any], database: Database, project_id: int, batch: int, passes: int = 1
) -> list[tuple[str, float]]:
    """(step, CPU seconds per event) for each step, storage last."""
    results: list[tuple[str, float]] = []
    received_at = dt.datetime.now(dt.UTC)
    bodies = [Body(record, "gzip").render(record.event_id) for record in records]
    started = time.process_time()
    raw = _decode_all(bodies)
    results.append(("read_body (gzip)", (time.process_time() - started) / len(bodies)))
    envelopes = timed("parse_envelope", raw, lambda b: parse_envelope(b, max_item_size=MAX_ENVELOPE_SIZE), results)
    contents = timed("extract_event", envelopes, extract_event, results)
    events = timed(
        "normalize_sentry_event",
        list(zip(envelopes, contents, strict=True)),
        lambda pair: normalize_sentry_event(
            pair[1].event, received_at=received_at, event_id=event_id_of(pair[0], pair[1].event)
        ),
        results,
    )
    rules = ScrubRules.from_settings()
    project = ProjectInfo(id=project_id, name="stages", scrub_rules=rules)
    scrubbed = timed("  scrub_event", events, lambda e: scrub_event(e, rules), results)
    timed("  group", scrubbed, group, results)
    prepared = timed(
        "prepare_event (all)", events, lambda e: prepare_event(e, project, source="sentry", size_bytes=1), results
    )
    results.extend(_measure_storage(database, prepared, batch, passes))
    return results


def _measure_storage(database: Database, prepared: list[Any], batch: int, passes: int) -> list[tuple[str, float]]:
    # Later passes are new events (new ids) of the issues the first pass created, as a collector's steady state.
    rounds = [prepared] + [
        [dataclasses.replace(p, event_id=uuid.uuid4().hex) for p in prepared] for _ in range(1, passes)
    ]
    engine = create_db_engine(database.effective_url)
    sessions = make_session_factory(engine)
    server_pid = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:  # the pool hands this one connection to every batch below
            server_pid = connection.scalar(text("SELECT pg_backend_pid()"))
    server_cpu = cpu_seconds([server_pid]) if server_pid else 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for items in (r[i : i + batch] for r in rounds for i in range(0, len(r), batch)):
        with sessions() as session:
            store_batch(session, items, now=dt.datetime.now(dt.UTC), commit=True)
            session.commit()
    stored = len(prepared) * passes
    results = [
        (f"store_batch + commit ({batch}/batch), CPU", (time.process_time() - cpu) / stored),
        (f"store_batch + commit ({batch}/batch), wall", (time.perf_counter() - wall) / stored),
    ]
    if server_pid:
        with engine.connect() as connection:
            same = connection.scalar(text("SELECT pg_backend_pid()")) == server_pid
        if same:
            results.append(("  postgresql server process, CPU", (cpu_seconds([server_pid]) - server_cpu) / stored))
    engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--fresh-db", action="store_true", help="empty the PostgreSQL *bench* database first")
    parser.add_argument("--batch", type=int, default=32, help="events per transaction (default 32)")
    parser.add_argument("--passes", type=int, default=1, help="times the corpus is stored (default 1)")
    parser.add_argument("--backlog", type=int, default=0, help="older issues the project has first (default 0)")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.passes < 1:
        parser.error("--batch and --passes must be at least 1")
    try:
        records = read_corpus(args.corpus)
        database = Database.prepare(args.database_url, fresh=args.fresh_db)
        try:
            project_id, _ = database.create_project(f"stages-{dt.datetime.now():%H%M%S}")
            if args.backlog:
                database.seed_backlog(project_id, args.backlog)
            results = measure(records, database, project_id, args.batch, args.passes)
        finally:
            database.cleanup()
    except (CorpusError, ServerError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(records)} envelopes, database {database.kind}; µs per event:")
    pipeline = 0.0
    for name, seconds in results:
        if not name.startswith("  ") and "wall" not in name:
            pipeline += seconds
        print(f"  {name:<44} {seconds * 1e6:8.0f}")
    print(f"  {'sum (CPU, without the HTTP layer)':<44} {pipeline * 1e6:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
