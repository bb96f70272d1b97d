"""The scrub benchmark: the synthetic event's line, and the corpus's line from a small corpus file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scrub_speed import corpus_events, main
from tests.bench.factories import NEW_ID, OLD_ID, make_record, record_line, write_corpus


def test_corpus_events_are_the_normalised_events_of_the_corpus(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl.gz", [record_line(make_record(OLD_ID)), record_line(make_record(NEW_ID))])
    events = corpus_events(corpus)
    assert [e["event_id"] for e in events] == [OLD_ID, NEW_ID]
    assert events[0]["message"]["formatted"] == "boom"


def test_both_lines_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl.gz", [record_line(make_record())])
    assert main(["--corpus", str(corpus)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("scrub_event: ")
    assert lines[1].startswith("corpus, 1 events, µs of CPU per event: scrub_event ")


def test_a_missing_corpus_skips_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--corpus", str(tmp_path / "none.jsonl.gz")]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "corpus: skipped" in captured.err
