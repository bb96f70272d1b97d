"""Spikes: an error's (or a service's) events in the last hour or 15 minutes, well above what the same time of day
saw on the previous days.

The baseline is one number per previous day: the events of the same clock window that day, read from the hourly
roll-ups (a window straddling two hours takes each hour's share by overlap, assuming events spread evenly within an
hour). Against those numbers a count is a spike when it beats all of:
  - median + SPIKE_SPREADS x spread, the spread being the larger of the scaled median absolute deviation (robust
    to one odd day) and the square root of the median (Poisson noise: a usual 4 often shows 8);
  - SPIKE_MIN_RATIO x the median (a steady busy error's small rise is not a spike);
  - the minimum number of events (a quiet error's 3 instead of 0 is not a spike either).
A daily peak that is normal for its hour is in its own baseline, so it does not count."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.enums import IssueStatus, PatternKind
from db.models import Issue, IssueHourlyCount, Project, ProjectHourlyCount
from db.rollups import hour_of
from tasks.analysis.findings import Finding
from tasks.analysis.params import AnalysisParams
from tasks.analysis.text import quoted

BASELINE_DAYS = 7
# Fewer previous days than this (a new error or service) and there is no baseline to compare with.
MIN_BASELINE_DAYS = 3
SPIKE_SPREADS = 4.0
SPIKE_MIN_RATIO = 2.0
MAD_TO_SIGMA = 1.4826  # the median absolute deviation of normal noise is 0.674 sigma
WINDOWS = (dt.timedelta(hours=1), dt.timedelta(minutes=15))
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class SpikeCheck:
    count: int
    usual: float  # the median of the baseline
    threshold: float
    is_spike: bool

    @property
    def ratio(self) -> float:
        return self.count / max(self.usual, 1.0)


def check_spike(count: int, baseline: Sequence[float], *, min_events: int) -> SpikeCheck:
    """Whether `count` is a spike against `baseline` (the same window on previous days)."""
    usual = statistics.median(baseline) if baseline else 0.0
    mad = statistics.median(abs(b - usual) for b in baseline) if baseline else 0.0
    spread = max(MAD_TO_SIGMA * mad, math.sqrt(max(usual, 1.0)))
    threshold = max(usual + SPIKE_SPREADS * spread, SPIKE_MIN_RATIO * max(usual, 1.0), float(min_events))
    enough_history = len(baseline) >= MIN_BASELINE_DAYS
    return SpikeCheck(count, usual, threshold, is_spike=enough_history and count >= threshold)


def window_share(hourly: Mapping[dt.datetime, float], start: dt.datetime, end: dt.datetime) -> float:
    """Events in [start, end) estimated from hourly counts, each hour contributing by its overlap."""
    total = 0.0
    hour = hour_of(start)
    while hour < end:
        overlap = min(end, hour + HOUR) - max(start, hour)
        total += hourly.get(hour, 0) * (overlap / HOUR)
        hour += HOUR
    return total


def baseline_hours(now: dt.datetime) -> list[dt.datetime]:
    """The hours the baselines of windows ending at `now` read: around the same time on each previous day."""
    longest = max(WINDOWS)
    hours: set[dt.datetime] = set()
    for k in range(1, BASELINE_DAYS + 1):
        end = now - k * DAY
        hour = hour_of(end - longest)
        while hour < end:
            hours.add(hour)
            hour += HOUR
    return sorted(hours)


def baseline(
    hourly: Mapping[dt.datetime, float], now: dt.datetime, window: dt.timedelta, since: dt.datetime
) -> list[float]:
    """The window's events on each previous day that starts after `since` (when the error or service appeared)."""
    values = []
    for k in range(1, BASELINE_DAYS + 1):
        end = now - k * DAY
        if end - window >= since:
            values.append(window_share(hourly, end - window, end))
    return values


def recent_count(minutes: Counter[dt.datetime], now: dt.datetime, window: dt.timedelta) -> int:
    return sum(n for minute, n in minutes.items() if now - window <= minute < now)


def _window_words(window: dt.timedelta) -> str:
    return "the last hour" if window == HOUR else f"the last {int(window.total_seconds() // 60)} minutes"


def _describe(subject: str, check: SpikeCheck, window: dt.timedelta) -> str:
    usual = round(check.usual)
    time_of_day = "for this hour" if window == HOUR else "at this time of day"
    if usual == 0:
        compared = f"where it usually has none {time_of_day}"
    else:
        compared = f"{check.ratio:.0f}x its usual {usual} {time_of_day}"
    return f"{subject} {check.count} events in {_window_words(window)}, {compared}"


def _first_spike(
    minutes: Counter[dt.datetime], hourly: Mapping[dt.datetime, float], now: dt.datetime, since: dt.datetime,
    min_events: int,
) -> tuple[dt.timedelta, SpikeCheck] | None:  # fmt: skip
    for window in WINDOWS:
        check = check_spike(
            recent_count(minutes, now, window), baseline(hourly, now, window, since), min_events=min_events
        )
        if check.is_spike:
            return window, check
    return None


def _finding(
    project_id: int, issue_id: int | None, subject: str, window: dt.timedelta, check: SpikeCheck, now: dt.datetime
) -> Finding:
    return Finding(
        kind=PatternKind.SPIKE,
        project_id=project_id,
        issue_id=issue_id,
        description=_describe(subject, check, window),
        score=check.ratio,
        details={
            "events": check.count,
            "usual": round(check.usual, 2),
            "threshold": round(check.threshold, 2),
            "window_minutes": int(window.total_seconds() // 60),
        },
        window_start=now - window,
        window_end=now,
        issue_ids=(issue_id,) if issue_id is not None else (),
    )


def detect_spikes(
    session: Session,
    now: dt.datetime,
    params: AnalysisParams,
    project_of: Mapping[int, int],
    minutes: Mapping[int, Counter[dt.datetime]],
) -> list[Finding]:
    """Spikes of errors, and of whole services none of whose errors spikes on its own (many errors each rising a
    little), given the last hour's events per issue and minute."""
    longest = max(WINDOWS)
    # Only counts that could pass the minimum need a baseline: most errors are quiet and cost nothing here.
    candidates = [i for i, m in minutes.items() if recent_count(m, now, longest) >= params.spike_min_events]
    by_project: dict[int, Counter[dt.datetime]] = {}
    for issue_id, issue_minutes in minutes.items():
        by_project.setdefault(project_of[issue_id], Counter()).update(issue_minutes)
    busy_projects = [p for p, m in by_project.items() if recent_count(m, now, longest) >= params.spike_min_events]
    hours = baseline_hours(now)
    findings: list[Finding] = []

    if candidates:
        issue_hourly: dict[int, dict[dt.datetime, float]] = {}
        for row in session.execute(
            select(IssueHourlyCount.issue_id, IssueHourlyCount.hour, IssueHourlyCount.events).where(
                IssueHourlyCount.issue_id.in_(candidates), IssueHourlyCount.hour.in_(hours)
            )
        ):
            issue_hourly.setdefault(row.issue_id, {})[row.hour] = row.events
        issues = session.execute(
            select(Issue.id, Issue.title, Issue.first_seen, Project.name)
            .join(Project, Project.id == Issue.project_id)
            .where(Issue.id.in_(candidates), Issue.status != IssueStatus.IGNORED)
        ).all()
        for issue in issues:
            spike = _first_spike(
                minutes[issue.id], issue_hourly.get(issue.id, {}), now, issue.first_seen, params.spike_min_events
            )
            if spike is not None:
                subject = f"{issue.name}: {quoted(issue.title)}"
                findings.append(_finding(project_of[issue.id], issue.id, subject, *spike, now))

    # A service's spike that one of its errors' spikes explains would only repeat it.
    busy_projects = [p for p in busy_projects if p not in {f.project_id for f in findings}]
    if busy_projects:
        project_hourly: dict[int, dict[dt.datetime, float]] = {}
        for row in session.execute(
            select(ProjectHourlyCount.project_id, ProjectHourlyCount.hour, func.sum(ProjectHourlyCount.events))
            .where(ProjectHourlyCount.project_id.in_(busy_projects), ProjectHourlyCount.hour.in_(hours))
            .group_by(ProjectHourlyCount.project_id, ProjectHourlyCount.hour)
        ):
            project_hourly.setdefault(row[0], {})[row[1]] = float(row[2])
        for project in session.execute(
            select(Project.id, Project.name, Project.created_at).where(Project.id.in_(busy_projects))
        ):
            spike = _first_spike(
                by_project[project.id], project_hourly.get(project.id, {}), now, project.created_at,
                params.spike_min_events,
            )  # fmt: skip
            if spike is not None:
                findings.append(_finding(project.id, None, f"{project.name} (all errors):", *spike, now))
    return findings
