"""The API's answers as typed values: the subset of each response the TUI shows, tolerant of added fields."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Model(BaseModel):
    # A newer server may add fields: ignore them rather than fail.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Page(Model, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class DeveloperRef(Model):
    id: int
    name: str
    email: str


class ErrorSummary(Model):
    """An error (grouped issue) as the queue lists it."""

    id: int
    project_id: int
    service: str
    title: str
    culprit: str | None = None
    exception_type: str | None = None
    platform: str | None = None
    severity: str
    status: str
    substatus: str | None = None
    first_seen: dt.datetime
    last_seen: dt.datetime
    times_seen: int
    users_affected: int
    first_release: str | None = None
    last_release: str | None = None
    environment: str | None = None
    assignee: DeveloperRef | None = None
    assigned_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: dt.datetime | None = None
    is_regression: bool = False
    escalation_level: int = 0
    snooze_until: dt.datetime | None = None
    snooze_event_limit: int | None = None
    snooze_user_limit: int | None = None
    impact_score: float = 0.0
    updated_at: dt.datetime
    sparkline: list[int] | None = Field(None, description="Events per hour over the last 24 h, oldest first.")

    @property
    def is_open(self) -> bool:
        return self.status in ("unresolved", "acknowledged")

    @property
    def is_acknowledged(self) -> bool:
        return self.status == "acknowledged" or self.acknowledged_at is not None

    @property
    def is_snoozed(self) -> bool:
        return self.status == "ignored" and (
            self.snooze_until is not None or self.snooze_event_limit is not None or self.snooze_user_limit is not None
        )

    def flags(self) -> list[str]:
        """Short markers: N new, R regression, E<n> escalated to level n, Z snoozed, ✓ acknowledged."""
        marks = []
        if self.substatus == "new":
            marks.append("N")
        if self.is_regression or self.substatus == "regressed":
            marks.append("R")
        if self.escalation_level:
            marks.append(f"E{self.escalation_level}")
        if self.is_snoozed:
            marks.append("Z")
        if self.is_acknowledged and self.is_open:
            marks.append("✓")
        return marks


class BulkResult(Model):
    id: int
    ok: bool
    error: str | None = None


class BulkOutcome(Model):
    action: str
    matched: int
    succeeded: int
    failed: int
    results: list[BulkResult]


class SeverityCounts(Model):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0

    def total(self) -> int:
        return self.critical + self.high + self.medium + self.low


class OldestOpen(Model):
    error_id: int
    title: str
    severity: str
    since: dt.datetime


class OnCallShift(Model):
    schedule_id: int
    schedule_name: str
    project_id: int | None = None
    team_id: int | None = None
    level: int
    until: dt.datetime


class Workload(Model):
    """One developer's load and on-call state (GET developers/workload/)."""

    developer: DeveloperRef
    open_assigned: int
    open_by_severity: SeverityCounts
    unacknowledged: int
    oldest_open: OldestOpen | None = None
    on_call_now: bool
    on_call_levels: list[int] = []
    on_call: list[OnCallShift] = []
    next_shift_start: dt.datetime | None = None


class Shift(Model):
    developer: DeveloperRef
    starts_at: dt.datetime
    ends_at: dt.datetime
    source: str


class OncallLevel(Model):
    level: int
    schedule_id: int
    schedule_name: str
    on_call: Shift | None = None
    next: Shift | None = None


class Oncall(Model):
    """Who is on call per project or team (GET oncall/)."""

    scope: str
    project_id: int | None = None
    project_name: str | None = None
    team_id: int | None = None
    team_name: str | None = None
    levels: list[OncallLevel] = []

    @property
    def name(self) -> str:
        return self.project_name or self.team_name or "?"


class AuditEntry(Model):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class ErrorPage(Page[ErrorSummary]):
    server_time: dt.datetime | None = None


class EventSummary(Model):
    event_id: str
    project_id: int
    issue_id: int
    timestamp: dt.datetime
    received_at: dt.datetime
    level: str | None = None
    severity: str
    environment: str | None = None
    release: str | None = None
    platform: str | None = None
    message: str | None = None
    user_key: str | None = None
    tags: dict[str, str] | None = None


class EventDetail(EventSummary):
    service: str = ""
    source: str = ""
    payload: dict[str, Any] | None = None
    payload_archived: bool = False


class TagValue(Model):
    value: str
    count: int
    share: float


class TagDistribution(Model):
    key: str
    total: int
    values: list[TagValue]


class Histogram(Model):
    start: dt.datetime
    interval_seconds: int
    counts: list[int]


class TimelineEntry(Model):
    at: dt.datetime
    kind: str
    actor: str | None = None
    summary: str
    notification: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    comment: dict[str, Any] | None = None
    change: dict[str, Any] | None = None


class NextEscalation(Model):
    """The step the project's escalation chain takes next if the error stays as it is."""

    chain: str
    step: int
    level: int
    condition: str  # unacknowledged or unresolved
    after_minutes: int
    due_at: dt.datetime  # checked every minute: past due means at the next check
    reason: str


class ErrorDetail(ErrorSummary):
    """GET errors/{id}/: the error with its latest event, tag values, histograms, timeline and next escalation."""

    latest_event: EventDetail | None = None
    tags: list[TagDistribution] = []
    tags_sampled_events: int = 0
    histogram_24h: Histogram | None = None
    histogram_30d: Histogram | None = None
    timeline: list[TimelineEntry] = []
    timeline_truncated: bool = False
    next_escalation: NextEscalation | None = None  # None from servers older than escalation chains, too

    def summary(self) -> ErrorSummary:
        return ErrorSummary.model_validate(self.model_dump(include=set(ErrorSummary.model_fields)))


class Pattern(Model):
    id: int
    kind: str
    project_id: int | None = None
    service: str | None = None
    error_id: int | None = None
    error_title: str | None = None
    error_severity: str | None = None
    correlated_error_ids: list[int] = []
    description: str
    score: float = 0.0
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    is_active: bool = True
    detected_at: dt.datetime


class Attempt(Model):
    attempt: int
    at: dt.datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None


class Notification(Model):
    id: int
    error_id: int | None = None
    error_title: str | None = None
    project_id: int | None = None
    developer: DeveloperRef | None = None
    channel: str
    target: str
    trigger: str
    status: str
    attempts: int
    max_attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    attempt_log: list[Attempt] | None = None


class RetryOutcome(Model):
    notification: Notification
    queued: bool


class Project(Model):
    id: int
    name: str
    platform: str | None = None
    dsns: list[str] = []


class MaintenanceWindow(Model):
    """GET maintenance-windows/: planned work during which alerts in its scope are held back."""

    id: int
    project_id: int | None = None  # None: every project
    project: str | None = None
    query: str | None = None
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str = ""

    def active_at(self, now: dt.datetime) -> bool:
        return self.starts_at <= now < self.ends_at


class StatusCounts(Model):
    unresolved: int = 0
    acknowledged: int = 0
    resolved: int = 0
    ignored: int = 0


class Counts(Model):
    """GET errors/counts/: how many errors, by status and severity."""

    total: int
    open: int
    unacknowledged: int
    by_status: StatusCounts
    by_severity: SeverityCounts
    unacknowledged_by_severity: SeverityCounts


class SeveritySeries(Model):
    critical: list[int]
    high: list[int]
    medium: list[int]
    low: list[int]


class ServiceStats(Model):
    project_id: int
    service: str
    open_errors: int
    events: int


class TopError(Model):
    error: ErrorSummary
    events: int


class Stats(Model):
    """GET errors/stats/: the numbers of a time window."""

    window: str
    interval: str
    start: dt.datetime
    end: dt.datetime
    by_status: StatusCounts
    by_severity: SeverityCounts
    by_service: list[ServiceStats]
    total_events: int
    events: Histogram
    events_by_severity: SeveritySeries
    top_errors: list[TopError]
    mtta_seconds: float | None = None
    acknowledged: int = 0
    mttr_seconds: float | None = None
    resolved: int = 0
