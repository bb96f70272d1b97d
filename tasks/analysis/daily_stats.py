"""The daily stats roll-up (DailyStat): per UTC day, project and severity, the events, new, regressed and resolved
errors and users affected. Run again for the same day it rewrites that day's rows, so hourly runs for today and
the nightly run for yesterday are idempotent.

- events: the project roll-up's count (by the severity of each event);
- new: errors first seen that day; resolved: errors resolved that day (by the error's severity);
- regressed: errors marked as regressions and seen that day (when an error reopened is not recorded, so an error
  regressed yesterday and still failing today counts on both days);
- users: distinct users (id, e-mail, username or IP) in that day's events."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from db.enums import Severity
from db.models import DailyStat, Event, Issue, Project, ProjectDailyCount

DAY = dt.timedelta(days=1)
COUNTS = ("events", "new_issues", "regressed_issues", "resolved_issues", "users_affected")

Key = tuple[int, Severity]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _grouped(session: Session, query: Any) -> dict[Key, int]:
    return {(project_id, Severity(severity)): int(n) for project_id, severity, n in session.execute(query)}


def compute_day(session: Session, day: dt.date) -> dict[Key, dict[str, int]]:
    """The day's counts per (project, severity); combinations with nothing to count are left out."""
    start = _midnight(day)
    end = start + DAY
    issue_key = (Issue.project_id, Issue.severity)
    parts = {
        "events": _grouped(
            session,
            select(ProjectDailyCount.project_id, ProjectDailyCount.severity, func.sum(ProjectDailyCount.events))
            .where(ProjectDailyCount.day == start)
            .group_by(ProjectDailyCount.project_id, ProjectDailyCount.severity),
        ),
        "new_issues": _grouped(
            session,
            select(*issue_key, func.count())
            .where(Issue.first_seen >= start, Issue.first_seen < end)
            .group_by(*issue_key),
        ),
        "regressed_issues": _grouped(
            session,
            select(*issue_key, func.count())
            .where(Issue.is_regression.is_(True), Issue.last_seen >= start, Issue.last_seen < end)
            .group_by(*issue_key),
        ),
        "resolved_issues": _grouped(
            session,
            select(*issue_key, func.count())
            .where(Issue.resolved_at >= start, Issue.resolved_at < end)
            .group_by(*issue_key),
        ),
        "users_affected": _grouped(
            session,
            select(Event.project_id, Event.severity, func.count(distinct(Event.user_key)))
            .where(Event.received_at >= start, Event.received_at < end, Event.user_key.is_not(None))
            .group_by(Event.project_id, Event.severity),
        ),
    }
    table: defaultdict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for column, counts in parts.items():
        for key, n in counts.items():
            table[key][column] = n
    return {key: counts for key, counts in table.items() if any(counts.values())}


def roll_up_day(session: Session, day: dt.date) -> int:
    """Write the day's DailyStat rows: updated in place, added, or zeroed when their counts went away (an error
    deleted since). Returns the number of rows the day has."""
    computed = compute_day(session, day)
    names: dict[int, str] = {project_id: name for project_id, name in session.execute(select(Project.id, Project.name))}
    existing = {
        (row.project_id, Severity(row.severity)): row
        for row in session.scalars(select(DailyStat).where(DailyStat.day == day))
    }
    for key, row in existing.items():
        counts = computed.get(key, dict.fromkeys(COUNTS, 0))
        for column in COUNTS:
            setattr(row, column, counts[column])
        row.service = names.get(key[0])
    for key, counts in computed.items():
        if key not in existing and key[0] in names:
            session.add(DailyStat(day=day, project_id=key[0], severity=key[1], service=names[key[0]], **counts))
    session.flush()
    return len(set(existing) | set(computed))
