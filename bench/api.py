"""REST API latency benchmark: seeds PostgreSQL with 1,000,000 events over 100,000 errors, 20 services and 50
developers, starts `errlog serve` on it, and measures the triage endpoints (list with filters and `q`, detail,
stats, workload, counts) one request at a time and then concurrently, reporting p50/p95/p99 per case.

    python -m bench.api                       # seed errlog_api_bench (a few minutes), then measure
    python -m bench.api --reuse               # measure again on the seeded database
    python -m bench.api --reuse --requests 300 --concurrency 8 --json-out bench/results/api.json

The database must be named *bench* (it is dropped and created again unless --reuse finds it seeded).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench.api_seed import Shape, seed
from bench.loadgen import machine, percentile
from bench.servers import ROOT, Database, ServerError, recreate_postgres, start_collector

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/errlog_api_bench"
API = "/api/error-logging"
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # list, detail, stats, workload, counts (and "list, rare word"): the figure it counts towards
    path: str
    params: Callable[[int], dict[str, Any]]  # request number -> query parameters (some rotate their values)


def _fixed(**params: Any) -> Callable[[int], dict[str, Any]]:
    return lambda _: params


def cases(ids: dict[str, Any], services: int) -> list[Case]:
    def svc(i: int) -> str:
        return f"svc-{1 + i % services}"

    def listing(name: str, params: Callable[[int], dict[str, Any]], path: str = "/errors/") -> Case:
        return Case(name, "list", path, params)

    various = ids["various"]
    queue = {"sort": "severity", "q": "is:unresolved"}
    return [
        listing("list default (last seen)", _fixed()),
        listing("list queue (severity, open)", _fixed(**queue)),
        listing("list queue + sparklines", _fixed(**queue, include="sparkline")),
        listing("list q critical service", lambda i: {"q": f"is:unresolved level:critical service:{svc(i)}"}),
        listing("list q assigned:me", _fixed(q="is:unresolved assigned:me", sort="severity")),
        listing("list q env release", lambda i: {"q": f"env:production release:svc{1 + i % services}@1.5.0"}),
        listing('list q "timeout"', _fixed(q='"timeout"')),
        listing('list q open "timeout"', _fixed(q='is:unresolved "timeout"', sort="severity")),
        # A word in no title: every row is read and matched (no trigram index); reported apart.
        Case('list q rare "zzqx"', "list, rare word", "/errors/", _fixed(q='"zzqx"')),
        listing("list filters", lambda i: {"status": "unresolved", "severity": "high", "service": svc(i)}),
        listing("list sort first_seen", _fixed(sort="first_seen")),
        listing("list sort count", _fixed(sort="count")),
        listing("list sort users", _fixed(sort="users")),
        listing("list sort impact", _fixed(sort="impact")),
        listing("list sort severity asc", _fixed(sort="severity", order="asc")),
        listing("list page 2 (cursor)", _fixed(**queue, cursor=ids["cursor"])),
        listing("list changed_since 5 min", _fixed(changed_since=ids["changed_since"])),
        listing("critical + sparklines", _fixed(include="sparkline"), "/errors/critical/"),
        Case("detail busy error", "detail", f"/errors/{ids['busy']}/", _fixed()),
        Case("detail quiet error", "detail", f"/errors/{ids['quiet']}/", _fixed()),
        Case("detail various errors", "detail", "/errors/{id}/", lambda i: {"id": various[i % len(various)]}),
        Case("stats 1h", "stats", "/errors/stats/", _fixed(window="1h")),
        Case("stats 24h", "stats", "/errors/stats/", _fixed(window="24h")),
        Case("stats 7d", "stats", "/errors/stats/", _fixed(window="7d")),
        Case("stats 30d", "stats", "/errors/stats/", _fixed(window="30d")),
        Case("workload", "workload", "/developers/workload/", _fixed()),
        Case("counts open", "counts", "/errors/counts/", _fixed(q="is:unresolved")),
        Case("counts service", "counts", "/errors/counts/", lambda i: {"service": svc(i)}),
    ]


def _request(case: Case, number: int) -> tuple[str, dict[str, Any]]:
    params = dict(case.params(number))
    path = case.path.format(id=params.pop("id")) if "{id}" in case.path else case.path
    return API + path, params


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _seeded(conninfo: str) -> bool:
    try:
        with psycopg.connect(conninfo) as conn:
            return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return False


def _prepare(args: argparse.Namespace, shape: Shape) -> dict[str, Any]:
    """Seed unless --reuse finds the database seeded; returns what the seed reported (or a note)."""
    conninfo = _conninfo(args.database_url)
    if args.reuse and _seeded(conninfo):
        with psycopg.connect(conninfo) as conn:
            age = conn.execute("SELECT now() - max(received_at) FROM events").fetchone()[0]  # type: ignore[index]
        print(f"reusing the seeded database; its newest event is {age} old")
        if age > dt.timedelta(hours=6):
            print("  the 1h and 24h windows hold less and less: seed again (without --reuse) for figures like fresh")
        return {"reused": True, "newest_event_age_seconds": round(age.total_seconds())}
    started = time.monotonic()
    print(f"seeding {make_url(args.database_url).database}: {shape}")
    recreate_postgres(args.database_url)
    Database.prepare(args.database_url, fresh=False).cleanup()  # errlog db upgrade
    report = seed(conninfo, shape)
    mark = time.monotonic()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    report["seconds"]["vacuum analyze"] = round(time.monotonic() - mark, 1)
    report["seconds"]["total"] = round(time.monotonic() - started, 1)
    print(f"  seeded in {report['seconds']['total']} s")
    return report


def _targets(conninfo: str, token_client: httpx.Client) -> dict[str, Any]:
    """The errors the detail cases read (the busiest, one of the quietest, a spread), and a cursor for page 2."""
    with psycopg.connect(conninfo) as conn:
        busy = conn.execute("SELECT id FROM issues ORDER BY times_seen DESC, id LIMIT 1").fetchone()
        quiet = conn.execute("SELECT id FROM issues ORDER BY times_seen, last_seen DESC, id LIMIT 1").fetchone()
        various = [row[0] for row in conn.execute("SELECT id FROM issues ORDER BY md5(id::text) LIMIT 50")]
    page = token_client.get(f"{API}/errors/", params={"sort": "severity", "q": "is:unresolved"})
    page.raise_for_status()
    changed_since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    assert busy and quiet
    return {
        "busy": busy[0],
        "quiet": quiet[0],
        "various": various,
        "cursor": page.json()["next_cursor"],
        "changed_since": changed_since,
    }


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50": round(percentile(latencies, 0.50), 1),
        "p95": round(percentile(latencies, 0.95), 1),
        "p99": round(percentile(latencies, 0.99), 1),
        "max": round(max(latencies), 1),
        "mean": round(statistics.fmean(latencies), 1),
    }


def _sequential(client: httpx.Client, all_cases: list[Case], n: int, warmup: int) -> dict[str, list[float]]:
    """Each case `n` times in a row, one request at a time (after `warmup` unmeasured ones)."""
    results: dict[str, list[float]] = {}
    for case in all_cases:
        for number in range(warmup):
            url, params = _request(case, number)
            client.get(url, params=params)
        latencies = []
        for number in range(n):
            url, params = _request(case, number)
            start = time.perf_counter()
            response = client.get(url, params=params)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise ServerError(f"{case.name}: {response.status_code} {response.text[:300]}")
        results[case.name] = latencies
        print(f"  {case.name:<40} {_line(_summary(latencies))}")
    return results


async def _concurrent(
    base_url: str, headers: dict[str, str], all_cases: list[Case], concurrency: int, rounds: int
) -> tuple[dict[str, list[float]], float]:
    """`concurrency` clients, each going through every case `rounds` times in its own shuffled order."""
    results: dict[str, list[float]] = {case.name: [] for case in all_cases}

    async def client_loop(offset: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
            for round_number in range(rounds):
                order = list(all_cases)
                random.Random(offset * 1000 + round_number).shuffle(order)
                for case in order:
                    url, params = _request(case, round_number * concurrency + offset)
                    start = time.perf_counter()
                    response = await client.get(url, params=params)
                    results[case.name].append((time.perf_counter() - start) * 1000)
                    if response.status_code != 200:
                        raise ServerError(f"{case.name}: {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(offset) for offset in range(concurrency)))
    return results, time.perf_counter() - started


def _line(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:>7.1f}  p95 {s['p95']:>7.1f}  p99 {s['p99']:>7.1f}  max {s['max']:>7.1f} ms"


def _by_group(all_cases: list[Case], results: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[float]] = {}
    for case in all_cases:
        groups.setdefault(case.group, []).extend(results[case.name])
    return {group: _summary(values) for group, values in groups.items()}


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    return result.stdout.strip() + ("+uncommitted changes" if dirty.strip() else "")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"PostgreSQL *bench* database ({DEFAULT_URL})")
    parser.add_argument("--reuse", action="store_true", help="measure on the database as seeded by an earlier run")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--errors", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--developers", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=100, help="sequential requests per case (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per case first (default 5)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients, 0 to skip (default 4)")
    parser.add_argument("--rounds", type=int, default=10, help="concurrent: passes over every case per client")
    parser.add_argument("--workers", type=int, default=1, help="collector processes (default 1)")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if "bench" not in (make_url(args.database_url).database or ""):
        print("the database name must contain 'bench': it is dropped and seeded again", file=sys.stderr)
        return 2
    if args.errors < 2 or args.events < args.errors or args.services < 1 or args.developers < 10:
        print("need events >= errors >= 2, services >= 1, developers >= 10", file=sys.stderr)
        return 2
    shape = Shape(args.events, args.errors, args.services, args.developers, seed=args.seed)
    seeded = _prepare(args, shape)
    database = Database.prepare(args.database_url, fresh=False)  # a data dir of its own, schema checked
    name = f"bench-api-{int(time.time())}"
    token = json.loads(
        database.errlog("token", "create", name, "--role", "viewer", "--developer", "dev01@bench.example", "--json")
    )["token"]
    server = start_collector(database, args.workers)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            all_cases = cases(_targets(_conninfo(args.database_url), client), args.services)
            print(f"sequential: {args.requests} requests per case, {len(all_cases)} cases")
            sequential = _sequential(client, all_cases, args.requests, args.warmup)
        concurrent: dict[str, list[float]] = {}
        elapsed = 0.0
        if args.concurrency > 0:
            print(f"concurrent: {args.concurrency} clients x {args.rounds} rounds over every case")
            concurrent, elapsed = asyncio.run(
                _concurrent(server.url, headers, all_cases, args.concurrency, args.rounds)
            )
            for case in all_cases:
                print(f"  {case.name:<40} {_line(_summary(concurrent[case.name]))}")
    finally:
        server.stop()
        database.cleanup()
    groups = {"sequential": _by_group(all_cases, sequential)}
    if concurrent:
        groups["concurrent"] = _by_group(all_cases, concurrent)
    for mode, by_group in groups.items():
        print(f"{mode}, by endpoint:")
        for group, summary in by_group.items():
            verdict = "met" if summary["p99"] <= TARGET_P99_MS else "NOT met"
            print(f"  {group:<16} {_line(summary)}  (p99 <= {TARGET_P99_MS:.0f} ms: {verdict})")
    if concurrent:
        total = sum(len(v) for v in concurrent.values())
        print(f"concurrent throughput: {total / elapsed:.0f} requests/s")
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(
            json.dumps(
                {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "commit": _commit(),
                    "machine": machine(),
                    "workers": args.workers,
                    "seed": seeded,
                    "sequential": {name: _summary(v) for name, v in sequential.items()},
                    "concurrent": {name: _summary(v) for name, v in concurrent.items() if v},
                    "groups": groups,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
