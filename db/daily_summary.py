"""What the daily summary reports per project over a day: new, regressed and resolved errors, the busiest ones,
the low-severity errors that page nobody, and the mean times to acknowledge and to resolve."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from db.enums import Severity
from db.issue_state import OPEN_STATUSES
from db.models import Issue, IssueHourlyCount, Project
from db.rollups import hour_of

LISTED = 10  # errors listed per kind; the counts say how many there were in all


@dataclass(frozen=True)
class ErrorLine:
    issue_id: int
    title: str
    severity: str
    events: int  # in the day (top errors) or in all (the others)


@dataclass
class ProjectDay:
    project: str
    new: list[ErrorLine] = field(default_factory=list)
    new_count: int = 0
    regressed: list[ErrorLine] = field(default_factory=list)
    regressed_count: int = 0
    resolved: list[ErrorLine] = field(default_factory=list)
    resolved_count: int = 0
    top: list[ErrorLine] = field(default_factory=list)
    # Open low-severity errors seen in the day: the routing matrix pages nobody for them, this is where they show.
    low: list[ErrorLine] = field(default_factory=list)
    low_count: int = 0
    mtta_seconds: float | None = None
    acknowledged: int = 0
    mttr_seconds: float | None = None
    resolved_in_day: int = 0

    @property
    def quiet(self) -> bool:
        return not (self.new_count or self.regressed_count or self.resolved_count or self.top or self.low_count)


def daily_report(session: Session, since: dt.datetime, until: dt.datetime) -> list[ProjectDay]:
    """One entry per project, by name, over [since, until)."""
    return [
        project_day(session, project, since, until)
        for project in session.scalars(select(Project).order_by(Project.name))
    ]


def project_day(session: Session, project: Project, since: dt.datetime, until: dt.datetime) -> ProjectDay:
    day = ProjectDay(project=project.name)
    mine = Issue.project_id == project.id
    day.new, day.new_count = _listed(session, mine, Issue.first_seen >= since, Issue.first_seen < until)
    day.regressed, day.regressed_count = _listed(
        session, mine, Issue.is_regression.is_(True), Issue.status.in_(OPEN_STATUSES), Issue.last_seen >= since
    )
    day.resolved, day.resolved_count = _listed(session, mine, Issue.resolved_at >= since, Issue.resolved_at < until)
    day.low, day.low_count = _listed(
        session, mine, Issue.severity == Severity.LOW, Issue.status.in_(OPEN_STATUSES), Issue.last_seen >= since
    )
    day.top = top_errors(session, project.id, since, until)
    day.mtta_seconds, day.acknowledged = mean_seconds(session, project.id, Issue.acknowledged_at, since, until)
    day.mttr_seconds, day.resolved_in_day = mean_seconds(session, project.id, Issue.resolved_at, since, until)
    return day


def _listed(session: Session, *conditions: ColumnElement[bool]) -> tuple[list[ErrorLine], int]:
    total = int(session.scalar(select(func.count()).select_from(Issue).where(*conditions)) or 0)
    issues = session.scalars(
        select(Issue).where(*conditions).order_by(Issue.times_seen.desc(), Issue.id.desc()).limit(LISTED)
    )
    return [ErrorLine(i.id, i.title, str(i.severity), int(i.times_seen or 0)) for i in issues], total


def top_errors(
    session: Session, project_id: int, since: dt.datetime, until: dt.datetime, limit: int = 5
) -> list[ErrorLine]:
    """The project's errors with the most events in the day, from the hourly roll-ups (whole hours)."""
    events = func.sum(IssueHourlyCount.events).label("events")
    rows = session.execute(
        select(Issue.id, Issue.title, Issue.severity, events)
        .join(IssueHourlyCount, IssueHourlyCount.issue_id == Issue.id)
        .where(Issue.project_id == project_id, IssueHourlyCount.hour >= hour_of(since), IssueHourlyCount.hour < until)
        .group_by(Issue.id, Issue.title, Issue.severity)
        .order_by(events.desc(), Issue.id.desc())
        .limit(limit)
    ).all()
    return [ErrorLine(int(r.id), r.title, str(r.severity), int(r.events)) for r in rows]


def mean_seconds(
    session: Session,
    project_id: int,
    column: InstrumentedAttribute[dt.datetime | None],
    since: dt.datetime,
    until: dt.datetime,
) -> tuple[float | None, int]:
    """Mean seconds from first seen to `column` (acknowledged_at or resolved_at) over the project's errors with `at` in
    the day, and how many. Averaged here rather than in SQL: a project acknowledges tens of errors a day, not
    millions, and timestamp arithmetic differs between SQLite and PostgreSQL (GET errors/stats/ does it in SQL for
    every project over up to 30 days)."""
    rows = session.execute(
        select(Issue.first_seen, column).where(
            Issue.project_id == project_id,
            column >= since,
            column < until,
        )
    ).all()
    if not rows:
        return None, 0
    spans = [max((done - first).total_seconds(), 0.0) for first, done in rows if done is not None]
    return (sum(spans) / len(spans), len(spans)) if spans else (None, 0)
