"""GET errors/stats/ and errors/counts/: errors by status, severity and service, events over time, the top errors,
and the mean times to acknowledge (MTTA) and to resolve (MTTR)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, func, literal_column, null, select, union_all
from sqlalchemy.orm import Session, joinedload

from collector.api.error_filters import ErrorFilters, filter_conditions
from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.histograms import DAY, HOUR, MINUTE, Buckets, Histogram, bucket_of, summed, summed_seconds
from collector.api.schemas import ErrorOut, error_out
from collector.api.side_reads import read_at_once
from db.enums import IssueStatus, Role, Severity
from db.issue_state import OPEN_STATUSES
from db.models import Event, Issue, Project, ProjectDailyCount, ProjectHourlyCount, SeverityHourlyCount
from db.rollups import day_of
from db.top_issues import top_issues

api = Api()
TAG = "errors"
WINDOWS = {"1h": HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
INTERVALS = {"minute": MINUTE, "hour": HOUR, "day": DAY}
DEFAULT_INTERVAL = {"1h": "minute", "24h": "hour", "7d": "hour", "30d": "day"}
MAX_BUCKETS = 1440


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: Literal["1h", "24h", "7d", "30d"] = "24h"
    interval: Literal["minute", "hour", "day"] | None = Field(
        None, description="Bucket length; by default minute for 1h, hour for 24h and 7d, day for 30d."
    )
    top: int = Field(10, ge=1, le=50, description="How many top errors to list.")


class StatusCounts(BaseModel):
    unresolved: int = 0
    acknowledged: int = 0
    resolved: int = 0
    ignored: int = 0


class SeverityCounts(BaseModel):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0


class SeveritySeries(BaseModel):
    """Events per bucket by the events' severity, aligned with the `events` histogram."""

    critical: list[int]
    high: list[int]
    medium: list[int]
    low: list[int]


class ServiceStats(BaseModel):
    project_id: int
    service: str
    open_errors: int = Field(description="Unresolved or acknowledged errors now.")
    events: int = Field(description="Events received in the window.")


class TopError(BaseModel):
    error: ErrorOut
    events: int = Field(description="Events received in the window.")


class StatsOut(BaseModel):
    window: str
    interval: str
    start: dt.datetime = Field(description="Start of the first bucket: the window, aligned to the interval.")
    end: dt.datetime
    by_status: StatusCounts = Field(description="All errors, by status.")
    by_severity: SeverityCounts = Field(description="Open (unresolved or acknowledged) errors, by severity.")
    by_service: list[ServiceStats]
    total_events: int
    events: Histogram
    events_by_severity: SeveritySeries
    top_errors: list[TopError] = Field(description="The errors with the most events in the window.")
    mtta_seconds: float | None = Field(description="Mean first seen -> acknowledged, over errors acknowledged in it.")
    acknowledged: int = Field(description="Errors acknowledged in the window.")
    mttr_seconds: float | None = Field(description="Mean first seen -> resolved, over errors resolved in the window.")
    resolved: int = Field(description="Errors resolved in the window.")


class CountsOut(BaseModel):
    total: int
    open: int = Field(description="Unresolved or acknowledged.")
    unacknowledged: int = Field(description="Unresolved and not acknowledged: what the queue's title shows.")
    by_status: StatusCounts
    by_severity: SeverityCounts = Field(description="Open errors by severity.")
    unacknowledged_by_severity: SeverityCounts


@api.route(
    "GET", "/errors/stats/", role=Role.VIEWER, summary="Error statistics", tag=TAG, query=StatsQuery, response=StatsOut
)
def error_stats(ctx: ApiContext, req: ApiRequest) -> StatsOut:
    """Counts by status, severity and service; events per minute, hour or day over the window, overall and by
    severity; the top errors of the window; MTTA and MTTR over the errors acknowledged or resolved in the window."""
    q: StatsQuery = req.query
    interval = q.interval or DEFAULT_INTERVAL[q.window]
    seconds, window = INTERVALS[interval], WINDOWS[q.window]
    if seconds > window:
        raise ApiError(400, f"an interval of a {interval} is longer than the {q.window} window", field="query.interval")
    if window // seconds > MAX_BUCKETS:
        raise ApiError(
            400,
            f"{q.window} by {interval} is more than {MAX_BUCKETS} buckets: use a longer interval",
            field="query.interval",
        )
    buckets = Buckets.ending_at(ctx.now, seconds, window // seconds)
    # Three independent lanes of reads, at once on PostgreSQL (collector/api/side_reads.py): the window's events,
    # MTTA/MTTR and the services; every error counted by status, severity and service; the top errors.
    (event_groups, mean_times, projects), issue_groups, top_errors = read_at_once(
        ctx.session,
        [
            lambda session: (
                _event_groups(session, buckets),
                _mean_times(session, buckets.start),
                session.execute(select(Project.id, Project.name).order_by(Project.name)).all(),
            ),
            lambda session: _issue_groups(session, [], Issue.project_id),
            lambda session: _top_errors(session, buckets.start, ctx.now, q.top),
        ],
    )
    by_status, by_severity, _ = _tally(issue_groups)
    series = buckets.histogram((number, count) for number, _, _, count in event_groups if number is not None)
    by_event_severity = {
        severity.value: buckets.fill((number, count) for number, sev, _, count in event_groups if sev == severity)
        for severity in Severity
    }
    mtta, acknowledged, mttr, resolved = mean_times
    return StatsOut(
        window=q.window,
        interval=interval,
        start=buckets.start,
        end=ctx.now,
        by_status=by_status,
        by_severity=by_severity,
        by_service=_by_service(projects, issue_groups, event_groups),
        total_events=sum(series.counts),
        events=series,
        events_by_severity=SeveritySeries(**by_event_severity),
        top_errors=top_errors,
        mtta_seconds=mtta,
        acknowledged=acknowledged,
        mttr_seconds=mttr,
        resolved=resolved,
    )


@api.route(
    "GET", "/errors/counts/", role=Role.VIEWER, summary="Count errors", tag=TAG, query=ErrorFilters, response=CountsOut
)
def error_counts(ctx: ApiContext, req: ApiRequest) -> CountsOut:
    """How many errors match the filters (the same as GET errors/), by status and severity, in one small query."""
    conditions = filter_conditions(req.query, me=ctx.developer_id, now=ctx.now)
    by_status, by_severity, unacknowledged = _tally(_issue_groups(ctx.session, conditions))
    return CountsOut(
        total=sum(by_status.model_dump().values()),
        open=by_status.unresolved + by_status.acknowledged,
        unacknowledged=by_status.unresolved,
        by_status=by_status,
        by_severity=by_severity,
        unacknowledged_by_severity=unacknowledged,
    )


def _event_groups(session: Session, buckets: Buckets) -> Sequence[Any]:
    """The window's events as (bucket number, severity, None, events) rows and (None, None, project id, events)
    rows (a project may have several: add them up), in one statement: from the roll-ups for buckets of whole days
    or hours, from the events themselves for minutes. Summed in SQL, so that what comes back is a few hundred rows
    at most."""
    start = buckets.start
    if buckets.seconds % DAY == 0:
        bucket = bucket_of(ProjectDailyCount.day, buckets.seconds)
        count = summed(ProjectDailyCount.events)
        return session.execute(
            union_all(
                select(bucket, ProjectDailyCount.severity, null(), count)
                .where(ProjectDailyCount.day >= start)
                .group_by(bucket, ProjectDailyCount.severity),
                _per_project(ProjectDailyCount.day, start),
            )
        ).all()
    if buckets.seconds % HOUR == 0:
        # The series from the per-severity hours (4 rows an hour); the services from their days, and from their
        # hours only before the window's first midnight: a few hundred rows instead of services x 4 an hour.
        bucket = bucket_of(SeverityHourlyCount.hour, buckets.seconds)
        midnight = start if start == day_of(start) else day_of(start) + dt.timedelta(days=1)
        return session.execute(
            union_all(
                select(bucket, SeverityHourlyCount.severity, null(), summed(SeverityHourlyCount.events))
                .where(SeverityHourlyCount.hour >= start)
                .group_by(bucket, SeverityHourlyCount.severity),
                _per_project(ProjectDailyCount.day, midnight),
                _per_project(ProjectHourlyCount.hour, start, ProjectHourlyCount.hour < midnight),
            )
        ).all()
    bucket = bucket_of(Event.received_at, buckets.seconds)
    since = Event.received_at >= start
    by_time = select(bucket, Event.severity, null(), func.count()).where(since).group_by(bucket, Event.severity)
    by_project = select(null(), null(), Event.project_id, func.count()).where(since).group_by(Event.project_id)
    return session.execute(union_all(by_time, by_project)).all()


def _per_project(at: Any, start: dt.datetime, *conditions: ColumnElement[bool]) -> Any:
    """(None, None, project id, events) rows of a per-project roll-up from `start` on."""
    table = at.class_
    return (
        select(null(), null(), table.project_id, summed(table.events))
        .where(at >= start, *conditions)
        .group_by(table.project_id)
    )


def _issue_groups(session: Session, conditions: list[ColumnElement[bool]], *extra: Any) -> Sequence[Any]:
    """Errors counted by (status, severity, *extra) in one grouped query."""
    return session.execute(
        select(Issue.status, Issue.severity, *extra, func.count())
        .where(*conditions)
        .group_by(Issue.status, Issue.severity, *extra)
    ).all()


def _tally(groups: Sequence[Any]) -> tuple[StatusCounts, SeverityCounts, SeverityCounts]:
    """(all by status, open by severity, unacknowledged by severity) from (status, severity, ..., count) rows."""
    by_status = dict.fromkeys(IssueStatus, 0)
    open_by_severity = dict.fromkeys(Severity, 0)
    unacknowledged = dict.fromkeys(Severity, 0)
    for status, severity, *_, count in groups:
        by_status[IssueStatus(status)] += count
        if status in OPEN_STATUSES:
            open_by_severity[Severity(severity)] += count
            if status == IssueStatus.UNRESOLVED:
                unacknowledged[Severity(severity)] += count
    return (
        StatusCounts(**{s.value: n for s, n in by_status.items()}),
        SeverityCounts(**{s.value: n for s, n in open_by_severity.items()}),
        SeverityCounts(**{s.value: n for s, n in unacknowledged.items()}),
    )


def _by_service(
    projects: Sequence[Any], issue_groups: Sequence[Any], event_groups: Sequence[Any]
) -> list[ServiceStats]:
    """Per (project id, name) in `projects`: its open errors and its events in the window."""
    open_errors: Counter[int] = Counter()
    for status, _, project_id, count in issue_groups:
        if status in OPEN_STATUSES:
            open_errors[project_id] += count
    events: Counter[int] = Counter()
    for _, _, project_id, count in event_groups:
        if project_id is not None:
            events[project_id] += count
    return [
        ServiceStats(project_id=pid, service=name, open_errors=open_errors[pid], events=events[pid])
        for pid, name in projects
    ]


def _top_errors(session: Session, start: dt.datetime, now: dt.datetime, top: int) -> list[TopError]:
    """Built while `session` is open: its rows are of no use once their side read's session closes."""
    ranked = top_issues(session, start, now, top)
    if not ranked:
        return []
    issues = {
        issue.id: issue
        for issue in session.scalars(
            select(Issue)
            .options(joinedload(Issue.project), joinedload(Issue.assignee))
            .where(Issue.id.in_([issue_id for issue_id, _ in ranked]))
        )
    }
    return [
        TopError(error=error_out(issues[issue_id]), events=events) for issue_id, events in ranked if issue_id in issues
    ]


def _mean_times(session: Session, start: dt.datetime) -> tuple[float | None, int, float | None, int]:
    """(MTTA seconds, errors acknowledged since `start`, MTTR seconds, errors resolved since `start`), in one
    statement whose two halves each read an index holding what they need (ix_issues_acknowledged_at,
    ix_issues_resolved_at: the time and first_seen)."""
    halves: list[Select[Any, float, int]] = [
        select(
            literal_column(str(kind)).label("kind"),
            summed_seconds(at, Issue.first_seen),
            func.count(),
        ).where(at >= start)
        for kind, at in enumerate((Issue.acknowledged_at, Issue.resolved_at))
    ]
    means: dict[int, tuple[float | None, int]] = {}
    for kind, total, count in session.execute(union_all(*halves)):
        means[int(kind)] = (float(total) / count if count else None, int(count))
    (mtta, acknowledged), (mttr, resolved) = means[0], means[1]
    return mtta, acknowledged, mttr, resolved
