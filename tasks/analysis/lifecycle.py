"""Patterns about an error's life rather than its rate: recurring (seen on many days), regression (came back after
it was resolved) and new in the latest release. Only open errors (unresolved or acknowledged) are reported."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from db.enums import IssueSubstatus, PatternKind
from db.issue_state import OPEN_STATUSES
from db.models import Issue, IssueDailyCount, IssueHourlyCount, Project
from db.releases import release_key
from db.rollups import day_of, hour_of
from tasks.analysis.findings import Finding
from tasks.analysis.params import AnalysisParams
from tasks.analysis.text import plural, quoted

DAY = dt.timedelta(days=1)
# A regression stays a pattern while the error, reopened, keeps happening: until a day passes without events.
REGRESSION_WINDOW = dt.timedelta(hours=24)


def detect_recurring(session: Session, now: dt.datetime, params: AnalysisParams) -> list[Finding]:
    """Open errors with events on at least `recurring_days` distinct UTC days of the last `recurring_window_days`
    (today included), from the daily roll-ups."""
    first_day = day_of(now) - (params.recurring_window_days - 1) * DAY
    days = func.count(distinct(IssueDailyCount.day))
    rows = session.execute(
        select(Issue.id, Issue.project_id, Issue.title, Project.name, days, func.sum(IssueDailyCount.events))
        .join(Issue, Issue.id == IssueDailyCount.issue_id)
        .join(Project, Project.id == Issue.project_id)
        .where(IssueDailyCount.day >= first_day, IssueDailyCount.events > 0, Issue.status.in_(OPEN_STATUSES))
        .group_by(Issue.id, Issue.project_id, Issue.title, Project.name)
        .having(days >= params.recurring_days)
    ).all()
    return [
        Finding(
            kind=PatternKind.RECURRING,
            project_id=project_id,
            issue_id=issue_id,
            description=f"{service}: {quoted(title)} happened on {n_days} of the last {params.recurring_window_days} "
            f"days ({plural(int(events), 'event')})",
            score=n_days / params.recurring_window_days,
            details={"days_seen": n_days, "window_days": params.recurring_window_days, "events": int(events)},
            window_start=first_day,
            window_end=now,
            issue_ids=(issue_id,),
        )
        for issue_id, project_id, title, service, n_days, events in rows
    ]


def detect_regressions(session: Session, now: dt.datetime) -> list[Finding]:
    """Open errors reopened by a new event after they were resolved (substatus regressed), still seen in the last
    REGRESSION_WINDOW."""
    since = now - REGRESSION_WINDOW
    rows = session.execute(
        select(Issue.id, Issue.project_id, Issue.title, Issue.last_release, Issue.last_seen, Project.name)
        .join(Project, Project.id == Issue.project_id)
        .where(
            Issue.substatus == IssueSubstatus.REGRESSED,
            Issue.status.in_(OPEN_STATUSES),
            Issue.last_seen >= since,
        )
    ).all()
    if not rows:
        return []
    recent = dict(
        session.execute(
            select(IssueHourlyCount.issue_id, func.sum(IssueHourlyCount.events))
            .where(IssueHourlyCount.issue_id.in_([r.id for r in rows]), IssueHourlyCount.hour >= hour_of(since))
            .group_by(IssueHourlyCount.issue_id)
        ).all()
    )
    findings = []
    for row in rows:
        events = int(recent.get(row.id, 0))
        release = f" in {row.last_release}" if row.last_release else ""
        findings.append(
            Finding(
                kind=PatternKind.REGRESSION,
                project_id=row.project_id,
                issue_id=row.id,
                description=f"{row.name}: {quoted(row.title)} came back{release} after it was resolved "
                f"({plural(events, 'event')} in the last 24 hours)",
                score=float(events),
                details={"events_24h": events, "release": row.last_release},
                window_start=since,
                window_end=row.last_seen,
                issue_ids=(row.id,),
            )
        )
    return findings


def newest_releases(session: Session) -> dict[int, str]:
    """Each project's newest release, by version number, among the releases its errors were seen in; only for
    projects with at least two releases (with one, every error would be "new in it")."""
    releases: defaultdict[int, set[str]] = defaultdict(set)
    for column in (Issue.first_release, Issue.last_release):
        for project_id, release in session.execute(
            select(Issue.project_id, column).where(column.is_not(None)).distinct()
        ):
            if release:
                releases[project_id].add(release)
    newest = {}
    for project_id, names in releases.items():
        ordered = [(key, name) for name in names if (key := release_key(name)) is not None]
        if len(ordered) >= 2:
            newest[project_id] = max(ordered)[1]
    return newest


def detect_new_in_release(session: Session, now: dt.datetime) -> list[Finding]:
    """Open errors first seen in their project's newest release."""
    newest = newest_releases(session)
    if not newest:
        return []
    rows = session.execute(
        select(
            Issue.id,
            Issue.project_id,
            Issue.title,
            Issue.first_release,
            Issue.first_seen,
            Issue.times_seen,
            Issue.users_affected,
            Project.name,
        )
        .join(Project, Project.id == Issue.project_id)
        .where(
            Issue.status.in_(OPEN_STATUSES),
            Issue.first_release.is_not(None),
            Issue.project_id.in_(list(newest)),
        )
    ).all()
    return [
        Finding(
            kind=PatternKind.NEW_IN_RELEASE,
            project_id=row.project_id,
            issue_id=row.id,
            description=f"{row.name}: {quoted(row.title)} is new in {row.first_release}, the latest release "
            f"({plural(row.times_seen, 'event')}, {plural(row.users_affected, 'user')})",
            score=float(row.times_seen),
            details={"release": row.first_release, "events": row.times_seen, "users": row.users_affected},
            window_start=row.first_seen,
            window_end=now,
            issue_ids=(row.id,),
        )
        for row in rows
        if newest.get(row.project_id) == row.first_release
    ]
