"""Grouping check: replays every corpus envelope once into a fresh collector and compares issues with sites.

    python -m bench.grouping_check [--database-url URL --fresh-db] [--corpus PATH]

Each site is one place in the code; all its events (every deploy, every varying message) should land in
one issue, and no issue should hold events of two sites. Exits 1 and lists the offenders otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select

from bench.corpus import DEFAULT_CORPUS, Body, CorpusError, Record, read_corpus
from bench.loadgen import LoadError, Target, make_client
from bench.servers import Database, ServerError, start_collector
from db.models import Event, Issue


@dataclass
class GroupingReport:
    sites: int
    issues: int
    split: dict[str, set[int]] = field(default_factory=dict)  # site -> its issues, when more than one
    merged: dict[int, set[str]] = field(default_factory=dict)  # issue -> its sites, when more than one
    missing: list[str] = field(default_factory=list)  # event ids sent but not stored

    @property
    def ok(self) -> bool:
        return not (self.split or self.merged or self.missing)


def compare(records: list[Record], issue_of_event: dict[str, int]) -> GroupingReport:
    """Sites split over several issues and issues merging several sites, from event id -> issue id."""
    issues_of_site: dict[str, set[int]] = defaultdict(set)
    sites_of_issue: dict[int, set[str]] = defaultdict(set)
    missing = []
    for record in records:
        issue = issue_of_event.get(record.event_id)
        if issue is None:
            missing.append(record.event_id)
            continue
        issues_of_site[record.site].add(issue)
        sites_of_issue[issue].add(record.site)
    return GroupingReport(
        sites=len({record.site for record in records}),
        issues=len(sites_of_issue),
        split={site: issues for site, issues in issues_of_site.items() if len(issues) > 1},
        merged={issue: sites for issue, sites in sites_of_issue.items() if len(sites) > 1},
        missing=missing,
    )


async def replay(target: Target, records: list[Record], concurrency: int = 8) -> list[str]:
    """Send each record once with its own event id; the failures, as text."""
    failures: list[str] = []
    queue = list(reversed(records))
    headers = target.headers("identity")

    async def sender() -> None:
        client = make_client("raw", target, headers, 30.0)
        try:
            while queue:
                record = queue.pop()
                try:
                    status, answer = await client.post(Body(record).render(record.event_id))
                except OSError as exc:
                    failures.append(f"{record.site} {record.event_id}: {exc}")
                    continue
                if status != 200:
                    failures.append(f"{record.site} {record.event_id}: {status} {answer[:200]!r}")
        finally:
            await client.aclose()

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return failures


def stored_issues(database: Database, project_id: int) -> tuple[dict[str, int], dict[int, str]]:
    """(event id -> issue id, issue id -> title) of the project."""
    engine = create_engine(database.effective_url)
    try:
        with engine.connect() as connection:
            events = connection.execute(select(Event.event_id, Event.issue_id).where(Event.project_id == project_id))
            issue_of_event = {event_id: issue_id for event_id, issue_id in events}
            titles = connection.execute(select(Issue.id, Issue.title).where(Issue.project_id == project_id))
            title_of_issue = {issue_id: title for issue_id, title in titles}
    finally:
        engine.dispose()
    return issue_of_event, title_of_issue


def print_report(report: GroupingReport, titles: dict[int, str], events: int) -> None:
    print(f"{events} events from {report.sites} sites became {report.issues} issues")
    print(f"sites split across several issues: {len(report.split)}")
    for site, issues in sorted(report.split.items()):
        print(f"  {site}: " + "; ".join(f"#{issue} {titles.get(issue, '')[:80]}" for issue in sorted(issues)))
    print(f"issues merging several sites: {len(report.merged)}")
    for issue, sites in sorted(report.merged.items()):
        print(f"  #{issue} {titles.get(issue, '')[:80]}: {', '.join(sorted(sites))}")
    if report.missing:
        print(f"events sent but not stored: {len(report.missing)} (e.g. {', '.join(report.missing[:3])})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--fresh-db", action="store_true", help="empty the PostgreSQL *bench* database first")
    args = parser.parse_args(argv)
    try:
        records = read_corpus(args.corpus)
        database = Database.prepare(args.database_url, fresh=args.fresh_db)
        try:
            project_id, dsn = database.create_project("grouping-check")
            server = start_collector(database, workers=1)
            try:
                failures = asyncio.run(replay(Target.from_dsn(dsn, server.url), records))
            finally:
                server.stop()
            issue_of_event, titles = stored_issues(database, project_id)
        finally:
            database.cleanup()
    except (CorpusError, ServerError, LoadError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    for failure in failures[:10]:
        print(f"not accepted: {failure}")
    report = compare(records, issue_of_event)
    print_report(report, titles, len(records))
    return 0 if report.ok and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
