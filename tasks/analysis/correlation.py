"""Correlated errors: errors of different services whose events fall in the same minutes of the last hour, a hint
that one cause (a database, a shared dependency, a deploy) is behind them all.

Each error is reduced to the set of minutes it had events in; two errors of different services are linked when
the Jaccard index of their sets (minutes shared / minutes either had) is at least MIN_JACCARD and they share at
least MIN_LIFT times the minutes two independent errors that busy would share by chance (errors failing in most
minutes overlap a lot whatever their cause). Linked errors form groups (connected components), and each group
spanning two or more services is one pattern, listing every error."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Set

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import IssueStatus, PatternKind
from db.models import Issue, Project
from tasks.analysis.findings import Finding
from tasks.analysis.text import quoted

WINDOW = dt.timedelta(hours=1)
WINDOW_MINUTES = int(WINDOW.total_seconds() // 60)
# Errors active in fewer minutes than this cannot show a pattern: two errors seen once each in the same minute is
# chance, not correlation.
MIN_ACTIVE_MINUTES = 5
MIN_JACCARD = 0.5
MIN_LIFT = 1.5
# The busiest errors only, so the pairwise comparison stays small however many errors there are.
MAX_CANDIDATES = 300
MAX_NAMED = 4


def jaccard(a: Set[dt.datetime], b: Set[dt.datetime]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def lift(a: Set[dt.datetime], b: Set[dt.datetime], minutes: int) -> float:
    """Minutes shared, over the number expected if the two errors failed independently of each other."""
    expected = len(a) * len(b) / minutes
    return len(a & b) / expected if expected else 0.0


def correlated_groups(
    project_of: Mapping[int, int], minutes: Mapping[int, Counter[dt.datetime]]
) -> list[tuple[list[int], float]]:
    """Groups of errors (ids, busiest first) linked across services, each with its strongest link's index."""
    active = {issue_id: set(m) for issue_id, m in minutes.items() if len(m) >= MIN_ACTIVE_MINUTES}
    totals = {issue_id: sum(minutes[issue_id].values()) for issue_id in active}
    candidates = sorted(active, key=lambda i: (-totals[i], i))[:MAX_CANDIDATES]
    parent = {issue_id: issue_id for issue_id in candidates}

    def root(issue_id: int) -> int:
        while parent[issue_id] != issue_id:
            parent[issue_id] = parent[parent[issue_id]]
            issue_id = parent[issue_id]
        return issue_id

    strongest: dict[int, float] = {}
    links: list[tuple[int, int, float]] = []
    for i, a in enumerate(candidates):
        for b in candidates[i + 1 :]:
            if project_of[a] == project_of[b]:
                continue
            index = jaccard(active[a], active[b])
            if index >= MIN_JACCARD and lift(active[a], active[b], WINDOW_MINUTES) >= MIN_LIFT:
                links.append((a, b, index))
                parent[root(a)] = root(b)
    linked = {issue_id for a, b, _ in links for issue_id in (a, b)}
    groups: dict[int, list[int]] = {}
    for issue_id in candidates:
        if issue_id in linked:
            groups.setdefault(root(issue_id), []).append(issue_id)
    for a, _, index in links:
        group = root(a)
        strongest[group] = max(strongest.get(group, 0.0), index)
    return [
        (sorted(members, key=lambda i: (-totals[i], i)), strongest[group])
        for group, members in groups.items()
        if len({project_of[m] for m in members}) >= 2
    ]


def detect_correlated(
    session: Session,
    now: dt.datetime,
    project_of: Mapping[int, int],
    minutes: Mapping[int, Counter[dt.datetime]],
) -> list[Finding]:
    """One pattern per group of correlated errors, the busiest error as its main one."""
    groups = correlated_groups(project_of, minutes)
    if not groups:
        return []
    ids = [issue_id for members, _ in groups for issue_id in members]
    described = {
        row.id: (row.title, row.name, row.status)
        for row in session.execute(
            select(Issue.id, Issue.title, Issue.status, Project.name)
            .join(Project, Project.id == Issue.project_id)
            .where(Issue.id.in_(ids))
        )
    }
    findings = []
    for members, index in groups:
        members = [m for m in members if m in described and described[m][2] != IssueStatus.IGNORED]
        if len({project_of[m] for m in members}) < 2:
            continue
        services = sorted({described[m][1] for m in members})
        named = ", ".join(f"{quoted(described[m][0])} ({described[m][1]})" for m in members[:MAX_NAMED])
        more = f" and {len(members) - MAX_NAMED} more" if len(members) > MAX_NAMED else ""
        shared = set.intersection(*(set(minutes[m]) for m in members))
        findings.append(
            Finding(
                kind=PatternKind.CORRELATED,
                project_id=project_of[members[0]],
                issue_id=members[0],
                description=f"{len(members)} errors in {len(services)} services ({', '.join(services)}) happen in "
                f"the same minutes: {named}{more}",
                score=index,
                details={
                    "jaccard": round(index, 3),
                    "services": services,
                    "shared_minutes": len(shared),
                    "window_minutes": WINDOW_MINUTES,
                },
                window_start=now - WINDOW,
                window_end=now,
                issue_ids=tuple(members),
            )
        )
    return findings
