"""Two versions of errlog under the same load, alternated: what a change did, read through the machine's drift.

    python -m bench.ab BASE [--pairs 3] [--results DIR] -- --serve --workers 2 --duration 20
    python -m bench.ab HEAD~1 -- --serve --workers 2 --database-url URL --fresh-db --duration 20

BASE is a git revision (a commit, a branch, HEAD~1), checked out in a temporary worktree with this checkout's corpus;
the other side is this checkout as it is, uncommitted changes included. Each pair runs `bench.ingest` with the options
after `--` once on each side, the order swapped from one pair to the next, so that a machine slowing down or speeding
up during the runs is not taken for the change (on the 2-core benchmark machines the same code drifts by a fifth
within minutes). Printed: each run, then per side the medians, then per pair this side against the base.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpus import DEFAULT_CORPUS
from bench.servers import ROOT

SIDES = ("base", "this")


class AbError(Exception):
    """A side could not be set up or measured; the message says which and why."""


@dataclass(frozen=True)
class Run:
    pair: int
    side: str
    result: dict[str, Any]  # bench.ingest's --json-out document

    @property
    def events_per_s(self) -> float:
        return float(self.result["accepted_per_s"])


Runner = Callable[[Path, Sequence[str], Path], dict[str, Any]]


def run_order(pairs: int) -> list[tuple[int, str]]:
    """(pair, side) in the order they run: base first in even pairs, this side first in odd ones."""
    order: list[tuple[int, str]] = []
    for pair in range(pairs):
        sides = SIDES if pair % 2 == 0 else tuple(reversed(SIDES))
        order += [(pair, side) for side in sides]
    return order


def run_ingest(root: Path, options: Sequence[str], json_out: Path) -> dict[str, Any]:
    """`python -m bench.ingest OPTIONS` in the checkout at `root` (its own code: the current directory comes first on
    the import path), its results read back from `json_out`."""
    command = [sys.executable, "-m", "bench.ingest", *options, "--json-out", str(json_out)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not json_out.exists():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise AbError(f"bench.ingest failed in {root} (exit status {done.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(json_out.read_text())
    return result


def compare(trees: dict[str, Path], options: Sequence[str], pairs: int, results: Path, runner: Runner) -> list[Run]:
    """Every run of `pairs` pairs over the two `trees` (by side), printed as it ends."""
    runs = []
    for pair, side in run_order(pairs):
        run = Run(pair, side, runner(trees[side], options, results / f"pair{pair + 1}-{side}.json"))
        runs.append(run)
        print(run_line(run), flush=True)
    return runs


def run_line(run: Run) -> str:
    r = run.result
    postgres = r.get("postgres_cpu_us_per_event")
    return (
        f"pair {run.pair + 1} {run.side:4}  {run.events_per_s:8,.1f} events/s  p99 {r['latency_ms']['p99']:6.1f} ms  "
        f"collector {r.get('server_cpu_us_per_event', 0):5} µs/event"
        + (f"  postgresql {postgres:4} µs/event" if postgres is not None else "")
        + f"  machine {r.get('machine_busy_pct', 0):4.1f} % busy"
    )


def summary(runs: Sequence[Run]) -> str:
    """Per side the medians; per pair this side's events/s and CPU per event against the base's."""
    lines = []
    for side in SIDES:
        mine = [run.result for run in runs if run.side == side]
        lines.append(
            f"{side:4} median  {statistics.median(r['accepted_per_s'] for r in mine):8,.1f} events/s  "
            f"p99 {statistics.median(r['latency_ms']['p99'] for r in mine):6.1f} ms  "
            f"collector {statistics.median(r.get('server_cpu_us_per_event', 0) for r in mine):7.1f} µs/event"
            + _median_postgres(mine)
        )
    by_pair = {(run.pair, run.side): run for run in runs}
    for pair in sorted({run.pair for run in runs}):
        base, this = by_pair[(pair, "base")], by_pair[(pair, "this")]
        line = f"pair {pair + 1}: this side {_change(this.events_per_s, base.events_per_s)} events/s"
        line += f", {_change(_cpu(this), _cpu(base))} CPU per event"
        lines.append(line)
    return "\n".join(lines)


def _median_postgres(results: Sequence[dict[str, Any]]) -> str:
    values = [r["postgres_cpu_us_per_event"] for r in results if r.get("postgres_cpu_us_per_event") is not None]
    return f"  postgresql {statistics.median(values):6.1f} µs/event" if values else ""


def _cpu(run: Run) -> float:
    """The collector's and PostgreSQL's CPU per event together: what the event cost the machine."""
    return float(run.result.get("server_cpu_us_per_event") or 0) + float(
        run.result.get("postgres_cpu_us_per_event") or 0
    )


def _change(new: float, old: float) -> str:
    return f"{(new / old - 1) * 100:+.1f} %" if old else "n/a"


@contextlib.contextmanager
def worktree(revision: str, repository: Path = ROOT) -> Iterator[Path]:
    """`revision` checked out in a temporary git worktree with this checkout's corpus; removed afterwards."""
    found = _git(repository, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise AbError(f"{revision!r} is not a commit of {repository}")
    commit = found.stdout.strip()
    parent = Path(tempfile.mkdtemp(prefix="errlog-ab-"))
    tree = parent / commit[:12]
    added = _git(repository, "worktree", "add", "--detach", str(tree), commit)
    if added.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise AbError(f"cannot check out {revision}: {added.stderr.strip()}")
    try:
        if DEFAULT_CORPUS.exists():  # git-ignored: the base would have none
            corpus = tree / DEFAULT_CORPUS.relative_to(ROOT)
            corpus.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(DEFAULT_CORPUS, corpus)
        yield tree
    finally:
        _git(repository, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ab",
        description=__doc__.split("\n\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("base", help="the git revision to compare this checkout with")
    parser.add_argument("--pairs", type=int, default=3, help="runs on each side, alternated (default 3)")
    parser.add_argument("--results", type=Path, help="keep each run's JSON here (default: a temporary directory)")
    parser.epilog = "After --: bench.ingest's options, --serve among them, the same for both sides."
    return parser


def main(argv: Sequence[str] | None = None, runner: Runner = run_ingest) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    own, options = (given[: given.index("--")], given[given.index("--") + 1 :]) if "--" in given else (given, [])
    args = _parser().parse_args(own)
    problem = None
    if "--serve" not in options:
        problem = "give bench.ingest's options after --, with --serve: each side must start its own collector"
    elif any(option.startswith("--json-out") for option in options):
        problem = "--json-out is bench.ab's to set; use --results DIR to keep the runs"
    elif args.pairs < 1:
        problem = "--pairs must be 1 or more"
    if problem:
        print(f"bench.ab: error: {problem}", file=sys.stderr)
        return 2
    try:
        with contextlib.ExitStack() as stack:
            results = args.results or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="errlog-ab-")))
            results.mkdir(parents=True, exist_ok=True)
            trees = {"base": stack.enter_context(worktree(args.base)), "this": ROOT}
            runs = compare(trees, options, args.pairs, results, runner)
    except AbError as exc:
        print(f"bench.ab: error: {exc}", file=sys.stderr)
        return 1
    print(summary(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
