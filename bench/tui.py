"""errlog-tui speed, in a headless app driven by Pilot: the first screen in local mode, and scrolling a queue
seeded with 100,000 errors.

    python -m bench.tui                        # both parts; seeds errlog_tui_bench on PostgreSQL (about a minute)
    python -m bench.tui --reuse --json-out bench/results/tui.json
    python -m bench.tui --skip-scroll          # the first screen only (no PostgreSQL needed)

First screen: to the queue showing its first rows, with errlog-tui in local mode on the embedded default (it starts
`errlog serve` and `errlog worker` on SQLite, holding `--local-errors` errors), measured twice: from creating the
app in this process (Textual already imported), and from starting a fresh process that builds the app the way the
`errlog-tui` command does (bench/tui_command.py), which is the wait its user sees. Target: under 1.5 s.
Scrolling: `errlog serve` on PostgreSQL seeded by bench/api_seed.py; the latency of page-down and of end (which
fetches the next page) from the key press until the app is idle again.
The database must be named *bench* (it is dropped and created again unless --reuse finds it seeded).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from bench.api_seed import Shape, seed
from bench.loadgen import machine, percentile
from bench.servers import Database, recreate_postgres, start_collector
from tui.app import ErrlogApp
from tui.connection import LocalConnector, RemoteConnector
from tui.local import LocalStack
from tui.widgets import QueuePane

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/errlog_tui_bench"
TARGET_FIRST_SCREEN_S = 1.5
SIZE = (80, 24)
LOCAL_URL = "http://127.0.0.1"  # no port: any free one, so runs side by side do not race for 8000


def summary(values: list[float]) -> dict[str, float]:
    """Milliseconds: n, p50, p95, max."""
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 1),
        "p95": round(percentile(ms, 0.95), 1),
        "max": round(max(ms), 1),
    }


def queue(app: ErrlogApp) -> QueuePane:
    return app.screen.query_one(QueuePane)


async def idle(pilot: Pilot[None]) -> None:
    """Until no worker (HTTP request) runs and the screen has caught up."""
    for _ in range(2):
        with contextlib.suppress(WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        await pilot.pause(0.005)


# ---- first screen, local mode -------------------------------------------------------------------------------


async def fill_local(data_dir: Path, errors: int) -> None:
    """`errors` distinct errors in the embedded database, sent through the generic webhook of a local stack."""
    stack = LocalStack(data_dir, public_url=LOCAL_URL)
    try:
        info = await stack.start()
        project = await stack.run_json("project", "create", "bench-shop", "--platform", "python")
        batch = [
            # A type of its own per error: the messages alone, differing only in numbers, would group together.
            {"message": f"order {n} could not be saved", "exception_type": f"Bench{n}Error", "service": "bench-shop"}
            for n in range(errors)
        ]
        async with httpx.AsyncClient(base_url=info.server, timeout=120) as http:
            for start in range(0, len(batch), 100):
                answer = await http.post(
                    "/api/error-logging/webhook/generic/",
                    json=batch[start : start + 100],
                    headers={"X-Errlog-Token": project["webhook_token"]},
                )
                answer.raise_for_status()
    finally:
        stack.stop()


async def first_screen(data_dir: Path) -> dict[str, float]:
    """Seconds from creating the app to: the local servers answering (connected), the queue showing rows."""
    started = time.perf_counter()
    app = ErrlogApp(LocalConnector(LocalStack(data_dir, public_url=LOCAL_URL)), refresh_seconds=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.client is not None, "the local collector")
        connected = time.perf_counter() - started
        await until(pilot, lambda: queue(app).table.row_count > 0, "the queue's first rows")
        rows = time.perf_counter() - started
    return {"connected": connected, "rows": rows}


def from_command(data_dir: Path) -> dict[str, float]:
    """Seconds from starting a fresh `python -m bench.tui_command` (errlog-tui as its command builds it, headless)
    to the app being built (Textual imported) and to the queue showing rows: the wait its user sees."""
    env = {k: v for k, v in os.environ.items() if k not in ("ERRLOG_SERVER", "ERRLOG_TOKEN")}
    env.update(ERRLOG_DATA_DIR=str(data_dir), ERRLOG_PUBLIC_URL=LOCAL_URL)
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-m", "bench.tui_command"], env=env, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        answer = child.stdout.readline()
        rows = time.perf_counter() - started
        child.wait(60)
    if not answer:
        raise RuntimeError(f"bench.tui_command exited with {child.returncode} before showing rows")
    return {"app_built": json.loads(answer)["app_built"], "rows": rows}


async def measure_first_screen(errors: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="errlog-bench-tui-") as tmp:
        data_dir = Path(tmp)
        print(f"first screen: local mode on SQLite with {errors} errors, {runs} runs")
        await fill_local(data_dir, errors)
        samples = [await first_screen(data_dir) for _ in range(runs)]
        commands = [await asyncio.to_thread(from_command, data_dir) for _ in range(runs)]
    for n, sample in enumerate(samples, 1):
        print(f"  run {n}: connected after {sample['connected']:.2f} s, rows after {sample['rows']:.2f} s")
    for n, sample in enumerate(commands, 1):
        print(f"  command run {n}: app built after {sample['app_built']:.2f} s, rows after {sample['rows']:.2f} s")
    rows = summary([s["rows"] for s in samples])
    command_rows = summary([s["rows"] for s in commands])
    verdict = "met" if command_rows["p50"] <= TARGET_FIRST_SCREEN_S * 1000 else "NOT met"
    print(f"  rows shown, app already imported: {line(rows)}")
    print(f"  rows shown, from the command:     {line(command_rows)}  (p50 < {TARGET_FIRST_SCREEN_S} s: {verdict})")
    return {
        "errors": errors,
        "load_average": os.getloadavg(),
        "connected_ms": summary([s["connected"] for s in samples]),
        "rows_ms": rows,
        "command_app_built_ms": summary([s["app_built"] for s in commands]),
        "command_rows_ms": command_rows,
        "target_met": verdict == "met",
    }


# ---- scrolling 100,000 errors ---------------------------------------------------------------------------------


def conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def seeded(url: str) -> bool:
    try:
        with psycopg.connect(conninfo(url)) as conn:
            return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM issues)").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return False


def prepare_scroll(url: str, shape: Shape, reuse: bool) -> None:
    if reuse and seeded(url):
        print(f"scrolling: reusing the seeded {make_url(url).database}")
        return
    print(f"scrolling: seeding {make_url(url).database}: {shape}")
    recreate_postgres(url)
    Database.prepare(url, fresh=False).cleanup()  # errlog db upgrade
    seed(conninfo(url), shape, log=lambda text: print(text))
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


async def press(pilot: Pilot[None], key: str) -> float:
    started = time.perf_counter()
    await pilot.press(key)
    await idle(pilot)
    return time.perf_counter() - started


async def scroll(server: str, token: str, pages: int, ends: int) -> dict[str, Any]:
    app = ErrlogApp(RemoteConnector(server, token, "bench"), refresh_seconds=None)
    async with app.run_test(size=SIZE) as pilot:
        started = time.perf_counter()
        await until(pilot, lambda: app.client is not None and queue(app).table.row_count > 0, "the first rows")
        await idle(pilot)
        first = time.perf_counter() - started
        pane = queue(app)
        page_down = [await press(pilot, "pagedown") for _ in range(pages)]
        end = []
        for _ in range(ends):
            before = pane.table.row_count
            end.append(await press(pilot, "end"))
            if pane.table.row_count == before:
                break  # every open error is loaded
        home = [await press(pilot, "home") for _ in range(3)]
        rows = pane.table.row_count
        assert app.internal_errors == [], app.internal_errors
    return {
        "first_rows_ms": round(first * 1000, 1),
        "page_down_ms": summary(page_down),
        "end_ms": summary(end),
        "home_ms": summary(home),
        "rows_loaded": rows,
    }


def measure_scroll(url: str, shape: Shape, reuse: bool, pages: int, ends: int) -> dict[str, Any]:
    prepare_scroll(url, shape, reuse)
    with psycopg.connect(conninfo(url)) as conn:
        total, open_ = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status IN ('unresolved', 'acknowledged')) FROM issues"
        ).fetchone()  # type: ignore[misc]
    database = Database.prepare(url, fresh=False)
    token = json.loads(
        database.errlog("token", "create", f"bench-tui-{int(time.time())}", "--role", "viewer", "--json")
    )
    server = start_collector(database, 1)
    try:
        print(f"scrolling: {total} errors, {open_} open (the queue), {pages} page-downs, up to {ends} ends")
        result = asyncio.run(scroll(server.url, token["token"], pages, ends))
    finally:
        server.stop()
        database.cleanup()
    for name in ("page_down_ms", "end_ms", "home_ms"):
        print(f"  {name.removesuffix('_ms'):<10} {line(result[name])}")
    print(f"  first rows after {result['first_rows_ms']:.0f} ms; {result['rows_loaded']} rows loaded at the end")
    return {"errors": total, "open": open_, **result}


def line(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:7.1f} ms  p95 {s['p95']:7.1f} ms  max {s['max']:7.1f} ms  (n={s['n']:.0f})"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"PostgreSQL *bench* database ({DEFAULT_URL})")
    parser.add_argument("--reuse", action="store_true", help="scroll the database as seeded by an earlier run")
    parser.add_argument("--errors", type=int, default=100_000, help="errors to seed for scrolling (100,000)")
    parser.add_argument("--events", type=int, default=200_000, help="events to seed for scrolling (200,000)")
    parser.add_argument("--pages", type=int, default=100, help="page-down presses (100)")
    parser.add_argument("--ends", type=int, default=50, help="end presses, each loading the next page (50)")
    parser.add_argument("--local-errors", type=int, default=300, help="errors in the local database (300)")
    parser.add_argument("--runs", type=int, default=5, help="first-screen runs (5)")
    parser.add_argument("--skip-first-screen", action="store_true")
    parser.add_argument("--skip-scroll", action="store_true")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.skip_scroll and "bench" not in (make_url(args.database_url).database or ""):
        print("the database name must contain 'bench': it is dropped and seeded again", file=sys.stderr)
        return 2
    if args.errors < 2 or args.events < args.errors or args.runs < 1 or args.local_errors < 1:
        print("need events >= errors >= 2, --runs >= 1 and --local-errors >= 1", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine()}
    if not args.skip_first_screen:
        results["first_screen"] = asyncio.run(measure_first_screen(args.local_errors, args.runs))
    if not args.skip_scroll:
        shape = Shape(events=args.events, errors=args.errors, services=20, developers=50)
        results["scroll"] = measure_scroll(args.database_url, shape, args.reuse, args.pages, args.ends)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
