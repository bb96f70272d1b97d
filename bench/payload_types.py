"""PostgreSQL's CPU per stored event payload by column type: why migration 0007 stores payloads as json.

    python -m bench.payload_types --database-url postgresql+psycopg://postgres@127.0.0.1/errlog_bench

Takes the corpus's events as the collector stores them (scrubbed, normalised, encoded once), inserts them in batches
of 16 into a scratch table (`payload_bench`, dropped afterwards) with the payload column as each type, one
transaction per batch as the ingest writer does, and prints the CPU its PostgreSQL backend used per row, the wall time
and the table's size per row. Only databases whose name contains "bench" are used.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.corpus import DEFAULT_CORPUS, read_corpus
from bench.procstat import cpu_seconds
from bench.stages import prepared_events

# Name -> (column type, compression, storage, what the client sends for a payload's JSON text).
VARIANTS: dict[str, tuple[str, str | None, str | None, Callable[[str], Any]]] = {
    "jsonb, pglz": ("jsonb", "pglz", None, str),
    "jsonb, lz4": ("jsonb", "lz4", None, str),
    "json, lz4": ("json", "lz4", None, str),
    "text, lz4": ("text", "lz4", None, str),
    "bytea, zlib by the client": ("bytea", None, "external", lambda text: zlib.compress(text.encode(), 1)),
}
BATCH = 16


Result = tuple[str, float, float, float]  # variant, backend CPU s/row, wall s/row, bytes/row


def measure(connection: psycopg.Connection[Any], payloads: list[str], passes: int) -> list[Result]:
    """One result per variant, in VARIANTS' order."""
    backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    results = []
    for name, (kind, compression, storage, encode) in VARIANTS.items():
        connection.execute("DROP TABLE IF EXISTS payload_bench")
        connection.execute(f"CREATE TABLE payload_bench (id bigserial PRIMARY KEY, event_id text, payload {kind})")
        if compression:
            connection.execute(f"ALTER TABLE payload_bench ALTER COLUMN payload SET COMPRESSION {compression}")
        if storage:
            connection.execute(f"ALTER TABLE payload_bench ALTER COLUMN payload SET STORAGE {storage}")
        connection.commit()
        values = [encode(p) for p in payloads]
        cast = "%(payloads)b::bytea[]" if kind == "bytea" else f"%(payloads)b::text[]::{kind}[]"
        statement = f"INSERT INTO payload_bench (event_id, payload) SELECT * FROM unnest(%(ids)b::text[], {cast})"
        cpu, wall = cpu_seconds([backend]), time.perf_counter()
        for _ in range(passes):
            for i in range(0, len(values), BATCH):
                chunk = values[i : i + BATCH]
                connection.execute(statement, {"ids": [uuid.uuid4().hex for _ in chunk], "payloads": chunk})
                connection.commit()
        rows = len(values) * passes
        cpu, wall = cpu_seconds([backend]) - cpu, time.perf_counter() - wall
        size = connection.execute("SELECT pg_total_relation_size('payload_bench')").fetchone()[0]  # type: ignore[index]
        results.append((name, cpu / rows, wall / rows, size / rows))
    connection.execute("DROP TABLE payload_bench")
    connection.commit()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database whose name contains 'bench'")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--passes", type=int, default=3, help="times the corpus is inserted per variant (default 3)")
    args = parser.parse_args(argv)
    url = make_url(args.database_url)
    if url.get_backend_name() != "postgresql" or "bench" not in (url.database or ""):
        parser.error("--database-url must be a PostgreSQL database whose name contains 'bench'")
    payloads = [str(item.payload_json) for item in prepared_events(read_corpus(args.corpus))]
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        results = measure(connection, payloads, args.passes)
    print(
        f"{len(payloads)} payloads ({sum(map(len, payloads)) // len(payloads)} characters on average), "
        f"{args.passes} passes, batches of {BATCH}; per row:"
    )
    for name, cpu, wall, size in results:
        print(f"  {name:<28} PostgreSQL CPU {cpu * 1e6:5.0f} µs   wall {wall * 1e6:5.0f} µs   {size:6.0f} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
