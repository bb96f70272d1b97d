"""`bench.alert_latency`: its receiver and statistics, and a tiny end-to-end run (real `errlog serve` and `errlog
worker` on Redis)."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from bench.alert_latency import ArrivalRecorder, main, summarise

REDIS_URL = os.environ.get("ERRLOG_TEST_REDIS_URL")


def test_the_recorder_notes_each_alert_once_by_its_error_title() -> None:
    recorder = ArrivalRecorder()
    try:
        for _ in range(2):  # a retried delivery keeps its first arrival
            httpx.post(recorder.url, json={"type": "errlog.alert", "error": {"title": "boom #1"}}, timeout=5)
        httpx.post(recorder.url, content=b"not json", timeout=5)
        first = recorder.wait_for("boom #1", 5)
        assert first is not None and recorder.arrivals == {"boom #1": first}
        assert recorder.wait_for("never sent", 0.05) is None
    finally:
        recorder.close()


def test_the_summary_reports_percentiles_and_the_target() -> None:
    summary = summarise([float(ms) for ms in range(1, 101)], 0, "sqlite")
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"], summary["max_ms"]) == (50, 95, 99, 100)
    assert summary["target_met"]
    assert not summarise([5000.0], 0, "sqlite")["target_met"]
    assert not summarise([5.0], 1, "sqlite")["target_met"]  # a lost alert misses the target whatever the times


def test_a_remote_redis_is_refused(capsys) -> None:
    assert main(["--redis-url", "redis://192.0.2.1:6379/0", "--count", "1"]) == 1
    assert "only talks to this machine" in capsys.readouterr().err


@pytest.mark.redis
def test_a_tiny_run_delivers_every_alert(tmp_path, capsys) -> None:
    if not REDIS_URL:
        pytest.skip("ERRLOG_TEST_REDIS_URL is not set: no Redis to test against")
    results = tmp_path / "alerts.json"
    assert main(["--redis-url", REDIS_URL, "--count", "3", "--pause", "0.05", "--json-out", str(results)]) == 0
    summary = json.loads(results.read_text())
    assert (summary["alerts"], summary["lost"], summary["database"]) == (3, 0, "sqlite")
    assert 0 < summary["p50_ms"] <= summary["max_ms"]
    assert "alerts        3 received, 0 lost" in capsys.readouterr().out
