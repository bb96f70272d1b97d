"""bench.ab: two versions under the same load, alternated, each in its own checkout."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bench import ab
from bench.servers import ROOT


def result(events_per_s: float, collector: int, postgres: int | None, p99: float = 40.0) -> dict[str, Any]:
    return {
        "accepted_per_s": events_per_s,
        "server_cpu_us_per_event": collector,
        "postgres_cpu_us_per_event": postgres,
        "latency_ms": {"p99": p99},
        "machine_busy_pct": 90.0,
    }


def worktrees() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True).stdout


def test_the_sides_take_turns_at_going_first():
    assert ab.run_order(3) == [(0, "base"), (0, "this"), (1, "this"), (1, "base"), (2, "base"), (2, "this")]


def test_each_side_runs_in_its_own_checkout_and_the_summary_compares_them(tmp_path, capsys):
    calls: list[tuple[Path, list[str], Path]] = []
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout

    def runner(root: Path, options: Sequence[str], json_out: Path) -> dict[str, Any]:
        calls.append((root, list(options), json_out))
        if root == ROOT:
            return result(1100.0, 800, 300, p99=35.0)
        # The base is the revision asked for, checked out apart from this checkout.
        checked_out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert checked_out.stdout == head and (root / "bench" / "ingest.py").exists()
        return result(1000.0, 900, 300, p99=45.0)

    options = ["--serve", "--workers", "2", "--duration", "20"]
    assert ab.main(["HEAD", "--pairs", "2", "--results", str(tmp_path), "--", *options], runner=runner) == 0

    assert [(root == ROOT, json_out.name) for root, _, json_out in calls] == [
        (False, "pair1-base.json"),
        (True, "pair1-this.json"),
        (True, "pair2-this.json"),
        (False, "pair2-base.json"),
    ]
    assert all(given == options for _, given, _ in calls)
    out = capsys.readouterr().out
    assert "base median   1,000.0 events/s  p99   45.0 ms  collector   900.0 µs/event  postgresql  300.0" in out
    assert "this median   1,100.0 events/s  p99   35.0 ms  collector   800.0 µs/event" in out
    assert out.count("this side +10.0 % events/s, -8.3 % CPU per event") == 2
    base_tree = calls[0][0]
    assert not base_tree.exists() and str(base_tree) not in worktrees()


def test_sqlite_runs_compare_the_collector_alone(tmp_path, capsys):
    def runner(root: Path, options: Sequence[str], json_out: Path) -> dict[str, Any]:
        return result(1000.0, 1000, None) if root != ROOT else result(1250.0, 800, None)

    assert ab.main(["HEAD", "--pairs", "1", "--results", str(tmp_path), "--", "--serve"], runner=runner) == 0
    out = capsys.readouterr().out
    assert "postgresql" not in out
    assert "pair 1: this side +25.0 % events/s, -20.0 % CPU per event" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["HEAD", "--", "--url", "http://127.0.0.1:1"], "with --serve"),
        (["HEAD"], "with --serve"),
        (["HEAD", "--", "--serve", "--json-out", "x.json"], "--json-out is bench.ab's to set"),
        (["HEAD", "--pairs", "0", "--", "--serve"], "--pairs must be 1 or more"),
    ],
)
def test_options_it_cannot_compare_with_are_refused(argv, message, capsys):
    def runner(*_: Any) -> dict[str, Any]:
        raise AssertionError("nothing is run")

    assert ab.main(argv, runner=runner) == 2
    assert message in capsys.readouterr().err


def test_an_unknown_revision_is_named(capsys):
    def runner(*_: Any) -> dict[str, Any]:
        raise AssertionError("nothing is run")

    assert ab.main(["no-such-revision-here", "--", "--serve"], runner=runner) == 1
    assert "'no-such-revision-here' is not a commit" in capsys.readouterr().err


def test_a_failing_run_says_why(tmp_path):
    with pytest.raises(ab.AbError, match=r"exit status 2[\s\S]*unrecognized arguments: --no-such-option"):
        ab.run_ingest(ROOT, ["--serve", "--no-such-option"], tmp_path / "run.json")
