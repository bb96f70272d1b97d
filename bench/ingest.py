"""Ingest load test: replays the corpus's real SDK envelopes against `errlog serve` and reports what it took.

    python -m bench.ingest --serve [--database-url URL --fresh-db] [--workers 1] [--concurrency 32]
                           [--rate 0] [--duration 60] [--warmup 5] [--encoding gzip]
    python -m bench.ingest --url http://127.0.0.1:8000 --dsn DSN [--server-pid PID] [--database-url URL]
    python -m bench.ingest --echo          # the generator's own ceiling, against a server that does nothing

Every send gets a new event id, so each is a new event. Reported: accepted events/s, status counts,
latency percentiles, rows stored, the collector's memory and CPU, and the generator's own CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy.engine import make_url

from bench.corpus import DEFAULT_CORPUS, ENCODINGS, Body, CorpusError, read_corpus
from bench.loadgen import CLIENTS, LoadError, RunResult, Target, machine, percentile, run_load
from bench.procstat import TreeSampler, cpu_seconds, machine_ticks, processes_titled, tree
from bench.servers import ROOT, Database, Server, ServerError, start_collector, start_echo_server

MAX_SECONDS = 600


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--serve", action="store_true", help="start `errlog serve` on a fresh project and database")
    where.add_argument("--url", help="send to a collector already running at this 127.0.0.1 URL (needs --dsn)")
    where.add_argument("--echo", action="store_true", help="send to a trivial server: the generator's ceiling")
    parser.add_argument("--dsn", help="with --url: the DSN of the project to send to")
    parser.add_argument("--server-pid", type=int, help="with --url: the collector's pid, for its memory and CPU")
    parser.add_argument(
        "--database-url",
        help="with --serve: the database (default: a new SQLite file); with --url: where to count stored rows",
    )
    parser.add_argument("--fresh-db", action="store_true", help="with --serve: empty a PostgreSQL *bench* db")
    parser.add_argument("--workers", type=int, default=1, help="with --serve: collector processes (default 1)")
    parser.add_argument("--batch-size", type=int, help="with --serve: ERRLOG_INGEST_BATCH_SIZE for the collector")
    parser.add_argument(
        "--batch-wait-ms", type=float, help="with --serve: ERRLOG_INGEST_BATCH_WAIT_MS for the collector"
    )
    parser.add_argument(
        "--backlog", type=int, default=0, help="with --serve: older issues the project has first (default 0)"
    )
    parser.add_argument(
        "--alert-threshold", help="with --serve: the project's EVENTS/MINUTES alert threshold (default: none)"
    )
    parser.add_argument(
        "--max-events-per-minute", help="with --serve: the project's events per minute before an alert (default: none)"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent senders/connections (default 32)")
    parser.add_argument("--rate", type=float, default=0.0, help="open-loop requests/s (default 0: closed loop, max)")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds sent before measuring (default 5)")
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (default: none)")
    parser.add_argument("--encoding", choices=ENCODINGS, default="gzip", help="request body coding (default gzip)")
    parser.add_argument(
        "--client", choices=CLIENTS, default="raw", help="raw (lean, default) or httpx (costs ~15x the CPU here)"
    )
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.url and not args.dsn:
        parser.error("--url needs --dsn")
    if args.duration + args.warmup > MAX_SECONDS:
        parser.error(f"--duration + --warmup must stay within {MAX_SECONDS} s")
    if args.workers < 1:
        parser.error("--workers must be at least 1")


async def _drive(
    target: Target, bodies: list[Body], args: argparse.Namespace, pid: int | None, backends: str | None
) -> dict[str, Any]:
    """Run the load while sampling the server; `backends` is the title of its PostgreSQL backends, if any."""
    # What else runs on the machine: the figures mean little if another job already takes a core.
    idle_busy, idle_total = machine_ticks()
    await asyncio.sleep(2)
    busy, total = machine_ticks()
    busy_before = round(100 * (busy - idle_busy) / max(1, total - idle_total), 1)
    sampler = TreeSampler(pid) if pid else None
    sampling = asyncio.create_task(sampler.run()) if sampler else None
    marks: dict[str, Any] = {}

    def backend_cpu() -> dict[int, float]:
        return {p: cpu_seconds([p]) for p in processes_titled(backends)} if backends else {}

    def measure_start() -> None:
        marks["machine"] = machine_ticks()
        marks["backends"] = backend_cpu()
        if pid and sampler is not None:
            marks["server_cpu"] = cpu_seconds(tree(pid))
            marks["rss_start_kib"] = sampler.sample()

    try:
        result = await run_load(
            target,
            bodies,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            rate=args.rate,
            max_requests=args.max_requests,
            client_kind=args.client,
            on_measure_start=measure_start,
        )
    finally:
        if sampling is not None:
            sampling.cancel()
    busy, total = machine_ticks()
    start_busy, start_total = marks.get("machine", (busy, total))
    extra: dict[str, Any] = {
        "result": result,
        "machine_busy_pct": round(100 * (busy - start_busy) / max(1, total - start_total), 1),
        "machine_busy_before_pct": busy_before,
    }
    if backends:
        started = marks.get("backends", {})
        used = sum(cpu - started.get(p, 0.0) for p, cpu in backend_cpu().items())
        extra["postgres_cpu_seconds"] = used
    if sampler is not None and pid:
        sampler.sample()
        extra["server_cpu_seconds"] = cpu_seconds(tree(pid)) - marks.get("server_cpu", 0.0)
        extra["rss_peak_mib"] = round(sampler.peak_total_kib / 1024, 1)
        extra["rss_start_end_mib"] = [
            round(marks.get("rss_start_kib", 0) / 1024, 1),
            round(sampler.samples[-1] / 1024, 1),
        ]
        extra["rss_peak_process_mib"] = round(sampler.peak_process_kib / 1024, 1)
        extra["server_processes"] = sampler.processes
    return extra


def _ms(value: float) -> float:
    return round(value * 1000, 1)


def summarise(run: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The figures of a run, as printed and as written to --json-out."""
    result: RunResult = run["result"]
    measured = result.measured
    summary: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "machine": machine(),
        "mode": "echo" if args.echo else ("serve" if args.serve else "url"),
        "database": run.get("database"),
        "workers": args.workers if args.serve else None,
        "concurrency": args.concurrency,
        "rate": args.rate or "max",
        "encoding": args.encoding,
        "client": args.client,
        "duration_s": round(result.seconds, 1),
        "answered": sum(result.window.values()),
        "accepted": sum(n for status, n in result.window.items() if status.startswith("2")),
        "accepted_per_s": round(result.accepted_per_second, 1),
        "statuses": dict(sorted(result.window.items())),
        "measured_requests": measured.sent,
        "latency_ms": {name: _ms(percentile(measured.latencies, q)) for name, q in _QUANTILES},
        "service_ms": {name: _ms(percentile(measured.service, q)) for name, q in _QUANTILES},
        "warmup_sent": result.warmup.sent,
        "warmup_accepted": result.warmup.accepted,
        "mean_body_bytes": round(measured.bytes_sent / max(1, measured.sent)),
        "generator_cpu_us_per_request": round(1e6 * result.generator_cpu_seconds / max(1, sum(result.window.values()))),
        "machine_busy_pct": run["machine_busy_pct"],
        "machine_busy_before_pct": run["machine_busy_before_pct"],
        "errors": result.last_errors[:5],
    }
    if args.rate:
        summary["scheduled"] = int(args.rate * args.duration)
    for key in ("rss_peak_mib", "rss_peak_process_mib", "rss_start_end_mib", "server_processes"):
        if key in run:
            summary[key] = run[key]
    if "postgres_cpu_seconds" in run:
        summary["postgres_cpu_us_per_event"] = round(1e6 * run["postgres_cpu_seconds"] / max(1, summary["accepted"]))
    if "server_cpu_seconds" in run:
        summary["server_cpu_us_per_event"] = round(1e6 * run["server_cpu_seconds"] / max(1, summary["accepted"]))
    if "rows" in run:
        summary["rows"] = run["rows"]
    return summary


_QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def print_summary(summary: dict[str, Any]) -> None:
    lat, svc = summary["latency_ms"], summary["service_ms"]
    print(f"target        {summary['mode']} {summary.get('database') or ''} workers={summary['workers']}")
    print(
        f"load          concurrency {summary['concurrency']}, rate {summary['rate']}, {summary['client']} client, "
        f"{summary['encoding']}, "
        f"{summary['mean_body_bytes']} B/request, {summary['duration_s']} s measured"
    )
    print(
        f"accepted      {summary['accepted']} of {summary['answered']} answers while measuring = "
        f"{summary['accepted_per_s']} events/s"
    )
    print(f"statuses      {summary['statuses']}")
    print(
        f"latency ms    p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}  "
        f"({summary['measured_requests']} requests due while measuring)"
    )
    if summary["rate"] != "max":
        print(f"service ms    p50 {svc['p50']}  p95 {svc['p95']}  p99 {svc['p99']}  (from actual send)")
        print(
            f"scheduled     {summary['scheduled']} requests at {summary['rate']}/s; {summary['measured_requests']} sent"
        )
    if "rows" in summary:
        rows = summary["rows"]
        verdict = "match" if rows["events"] == rows["accepted_total"] else "MISMATCH"
        print(
            f"rows stored   {rows['events']} events, {rows['issues']} issues "
            f"(2xx answers incl. warm-up: {rows['accepted_total']}: {verdict})"
        )
    if "rss_peak_mib" in summary:
        print(
            f"server        peak RSS {summary['rss_peak_mib']} MiB over {summary['server_processes']} processes "
            f"(largest {summary['rss_peak_process_mib']} MiB; {summary['rss_start_end_mib'][0]} -> "
            f"{summary['rss_start_end_mib'][1]} MiB over the measurement), "
            f"{summary.get('server_cpu_us_per_event')} µs CPU/event"
        )
    if "postgres_cpu_us_per_event" in summary:
        print(f"postgresql    its backends used {summary['postgres_cpu_us_per_event']} µs CPU/event")
    ceiling = 1e6 / max(1, summary["generator_cpu_us_per_request"])
    print(
        f"generator     {summary['generator_cpu_us_per_request']} µs CPU/request (≈{ceiling:,.0f} requests/s on a "
        f"free core)"
    )
    print(
        f"machine       {summary['machine_busy_pct']}% busy during the run, "
        f"{summary['machine_busy_before_pct']}% in the 2 s before it"
    )
    for error in summary["errors"]:
        print(f"error         {error}")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _validate(parser, args)
    try:
        if args.url:  # refuse a bad or remote target before reading anything
            Target.from_dsn(args.dsn, args.url)
        bodies = [Body(record, args.encoding) for record in read_corpus(args.corpus)]
        with contextlib.ExitStack() as stack:
            database: Database | None = None
            project_id = 0
            pid: int | None = args.server_pid
            if args.echo:
                server: Server = start_echo_server()
                stack.callback(server.stop)
                target = Target(endpoint=f"{server.url}/api/1/envelope/", public_key="bench", project_id=1)
                pid = server.pid
            elif args.serve:
                database = Database.prepare(args.database_url, fresh=args.fresh_db)
                stack.callback(database.cleanup)
                project_id, dsn = database.create_project(f"bench-{dt.datetime.now():%H%M%S}")
                if args.backlog:
                    database.seed_backlog(project_id, args.backlog)
                for option in ("alert_threshold", "max_events_per_minute"):
                    if getattr(args, option):
                        flag = "--" + option.replace("_", "-")
                        database.errlog("project", "set", str(project_id), flag, getattr(args, option))
                server = start_collector(
                    database, args.workers, batch_size=args.batch_size, batch_wait_ms=args.batch_wait_ms
                )
                stack.callback(server.stop)
                target = Target.from_dsn(dsn, server.url)
                pid = server.pid
            else:
                target = Target.from_dsn(args.dsn, args.url)
                project_id = target.project_id
                if args.database_url:
                    database = Database(url=args.database_url, data_dir=Path("."))
            before = database.counts(project_id) if database else None
            backends = None
            if database is not None and database.kind == "postgresql":
                backends = f" {make_url(database.effective_url).database} "  # in each backend's process title
            # On uvloop, as the collector's workers: the generator then takes ~55 µs of CPU per request under load
            # against ~65 on asyncio's own loop, CPU left to what is measured.
            run = uvloop.run(_drive(target, bodies, args, pid, backends))
            if database is not None and before is not None:
                events, issues = database.counts(project_id)
                result: RunResult = run["result"]
                run["rows"] = {
                    "events": events - before[0],
                    "issues": issues - before[1],
                    "accepted_total": result.warmup.accepted + result.measured.accepted,  # by due time: all of them
                }
                run["database"] = database.kind
    except (CorpusError, LoadError, ServerError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    summary = summarise(run, args)
    print_summary(summary)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
