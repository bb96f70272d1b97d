"""The corpus made with the real sentry-sdk: one envelope per site call, labelled, reproducible ids."""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter

from bench.make_corpus import capture, main
from collector.envelope import extract_event, parse_envelope
from tests.bench.factories import one_site_per_kind


def test_every_kind_of_site_makes_exactly_one_event_envelope():
    sites = one_site_per_kind()
    records = list(capture(sites, deploys=2, rounds=1, seed=5))
    assert Counter(record["site"] for record in records) == {site.id: 2 for site in sites}
    for record in records:
        envelope = parse_envelope(base64.b64decode(record["envelope"]), max_item_size=1 << 20)
        event = extract_event(envelope).event
        assert event["event_id"] == record["event_id"] == envelope.headers["event_id"]
        assert event["release"] == f"shop@2.{record['deploy']}.0"
        assert event["tags"]["region"]
        assert event["user"]["id"]


def test_the_same_seed_gives_the_same_events_in_the_same_order():
    sites = one_site_per_kind()[:4]
    first = [(r["site"], r["event_id"]) for r in capture(sites, deploys=1, rounds=2, seed=9)]
    second = [(r["site"], r["event_id"]) for r in capture(sites, deploys=1, rounds=2, seed=9)]
    assert first == second


def test_main_writes_a_gzip_corpus(tmp_path, capsys):
    out = tmp_path / "corpus.jsonl.gz"
    assert main(["--sites", "12", "--deploys", "2", "--rounds", "1", "--out", str(out)]) == 0
    with gzip.open(out, "rt") as corpus:
        lines = corpus.read().splitlines()
    assert len(lines) == 24
    assert {"site", "kind", "deploy", "event_id", "envelope"} <= json.loads(lines[0]).keys()
    assert "wrote 24 envelopes" in capsys.readouterr().out
