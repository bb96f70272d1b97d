"""The grouping check: splits, merges and losses found from event -> issue, and a real replay end to end."""

from __future__ import annotations

from bench.grouping_check import compare, main
from bench.make_corpus import main as make_corpus
from tests.bench.factories import make_record

A1, A2, B1, C1 = ("a" * 31 + "1", "a" * 31 + "2", "b" * 31 + "1", "c" * 31 + "1")


def records() -> list:
    return [make_record(A1, "site-a"), make_record(A2, "site-a"), make_record(B1, "site-b"), make_record(C1, "site-c")]


def test_one_issue_per_site_is_clean():
    report = compare(records(), {A1: 1, A2: 1, B1: 2, C1: 3})
    assert report.ok
    assert (report.sites, report.issues) == (3, 3)


def test_a_site_over_two_issues_is_a_split():
    report = compare(records(), {A1: 1, A2: 4, B1: 2, C1: 3})
    assert not report.ok
    assert report.split == {"site-a": {1, 4}}
    assert report.merged == {}


def test_two_sites_in_one_issue_are_a_merge():
    report = compare(records(), {A1: 1, A2: 1, B1: 2, C1: 2})
    assert report.merged == {2: {"site-b", "site-c"}}
    assert report.split == {}


def test_an_event_that_was_not_stored_fails_the_check():
    report = compare(records(), {A1: 1, A2: 1, B1: 2})
    assert report.missing == [C1]
    assert not report.ok


def test_replaying_a_small_real_corpus_through_the_collector_groups_by_site(tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl.gz"
    assert make_corpus(["--sites", "20", "--deploys", "2", "--rounds", "1", "--out", str(corpus), "--seed", "7"]) == 0
    assert main(["--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "40 events from 20 sites became 20 issues" in out
    assert "sites split across several issues: 0" in out
    assert "issues merging several sites: 0" in out
