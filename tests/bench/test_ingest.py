"""`bench.ingest` end to end: a real `errlog serve` on SQLite, a few requests, stored rows counted."""

from __future__ import annotations

import json

from bench.ingest import main
from bench.make_corpus import main as make_corpus


def test_a_short_bounded_run_stores_every_accepted_event(tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl.gz"
    assert make_corpus(["--sites", "10", "--deploys", "1", "--rounds", "2", "--out", str(corpus)]) == 0
    results = tmp_path / "results.json"
    argv = ["--serve", "--corpus", str(corpus), "--concurrency", "4", "--warmup", "0", "--duration", "60"]
    assert main([*argv, "--max-requests", "30", "--json-out", str(results)]) == 0
    summary = json.loads(results.read_text())
    assert summary["statuses"] == {"200": 30}
    assert summary["rows"] == {"events": 30, "issues": 10, "accepted_total": 30}
    assert summary["database"] == "sqlite"
    assert summary["rss_peak_mib"] > 0
    assert "rows stored   30 events, 10 issues" in capsys.readouterr().out


def test_a_remote_target_is_refused(capsys):
    assert main(["--url", "http://192.0.2.1:8000", "--dsn", "http://k@192.0.2.1:8000/1", "--duration", "1"]) == 1
    assert "only sends to this machine" in capsys.readouterr().err


def test_a_missing_corpus_is_a_clear_error(tmp_path, capsys):
    assert main(["--echo", "--corpus", str(tmp_path / "none.jsonl.gz"), "--duration", "1"]) == 1
    assert "make one with" in capsys.readouterr().err
