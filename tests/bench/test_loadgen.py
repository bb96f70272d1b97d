"""The load generator against the echo server: counts, phases, bounds, and the target's parsing."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
import uvloop

from bench.corpus import Body
from bench.echo_server import app
from bench.loadgen import LoadError, Target, percentile, run_load
from tests.bench.factories import make_record


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the echo server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def target_of(url: str) -> Target:
    return Target.from_dsn("http://publickey@127.0.0.1:9/7", url)


def test_a_dsn_gives_the_envelope_endpoint_key_and_project():
    target = Target.from_dsn("http://abc123@127.0.0.1:8000/42")
    assert target == Target("http://127.0.0.1:8000/api/42/envelope/", "abc123", 42)
    assert Target.from_dsn("http://abc@localhost/3", "http://127.0.0.1:9000/").endpoint == (
        "http://127.0.0.1:9000/api/3/envelope/"
    )
    assert "sentry_key=abc123" in target.headers("gzip")["X-Sentry-Auth"]
    assert target.headers("gzip")["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in target.headers("identity")


@pytest.mark.parametrize("dsn", ["http://127.0.0.1:8000/42", "http://k@127.0.0.1:8000/", "ftp://k@127.0.0.1/1"])
def test_what_is_not_a_dsn_is_refused(dsn):
    with pytest.raises(LoadError, match="not a DSN"):
        Target.from_dsn(dsn)


def test_only_this_machine_is_a_target():
    with pytest.raises(LoadError, match="only sends to this machine"):
        Target.from_dsn("http://k@errors.example.com/1")
    with pytest.raises(LoadError, match="only sends to this machine"):
        Target.from_dsn("http://k@127.0.0.1/1", "http://10.0.0.8:8000")


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([3.0], 0.5) == 3.0
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError, match="fraction"):
        percentile(values, 0.0)


@pytest.mark.parametrize("client", ["raw", "httpx"])
def test_closed_loop_sends_up_to_max_requests_and_counts_every_answer(echo_url, client):
    bodies = [Body(make_record(), "gzip")]
    result = asyncio.run(
        run_load(target_of(echo_url), bodies, concurrency=4, duration=60, max_requests=40, client_kind=client)
    )
    assert result.measured.statuses == result.window == {"200": 40}
    assert result.measured.accepted == 40
    assert len(result.measured.latencies) == len(result.measured.service) == 40
    assert result.measured.bytes_sent == 40 * len(bodies[0].render("0" * 32))
    assert result.warmup.sent == 0


def test_latencies_are_timed_finer_than_uvloops_millisecond_clock(echo_url):
    # bench.ingest runs the generator on uvloop, whose loop.time() moves in whole milliseconds.
    bodies = [Body(make_record(), "gzip")]
    result = uvloop.run(run_load(target_of(echo_url), bodies, concurrency=2, duration=60, max_requests=40))
    fractions = {round(latency * 1000 % 1, 3) for latency in result.measured.latencies + result.measured.service}
    assert len(fractions) > 2, fractions


def test_open_loop_sends_the_scheduled_requests_and_no_more(echo_url):
    bodies = [Body(make_record())]
    result = asyncio.run(run_load(target_of(echo_url), bodies, concurrency=2, duration=0.5, rate=40))
    assert result.measured.statuses == {"200": 20}


def test_requests_due_in_the_warm_up_are_counted_apart(echo_url):
    bodies = [Body(make_record())]
    result = asyncio.run(run_load(target_of(echo_url), bodies, concurrency=2, duration=0.25, warmup=0.25, rate=40))
    assert result.warmup.sent == 10
    assert result.measured.sent == 10


def test_a_refused_connection_is_counted_as_an_error():
    bodies = [Body(make_record())]
    target = Target.from_dsn("http://k@127.0.0.1:9/1")  # the discard port: nothing listens
    result = asyncio.run(run_load(target, bodies, concurrency=1, duration=60, max_requests=3))
    assert result.measured.statuses == {"error:ConnectionRefusedError": 3}
    assert result.measured.accepted == 0
    assert result.last_errors


def test_impossible_settings_are_refused():
    with pytest.raises(LoadError, match="concurrency"):
        asyncio.run(run_load(target_of("http://127.0.0.1:1"), [Body(make_record())], concurrency=0, duration=1))
    with pytest.raises(LoadError, match="no envelopes"):
        asyncio.run(run_load(target_of("http://127.0.0.1:1"), [], concurrency=1, duration=1))
    with pytest.raises(LoadError, match="unknown client"):
        asyncio.run(
            run_load(
                target_of("http://127.0.0.1:1"), [Body(make_record())], concurrency=1, duration=1, client_kind="curl"
            )
        )
