"""Response shapes more than one endpoint returns: an error (grouped issue) row, a developer."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from db.enums import IssueStatus, IssueSubstatus, Severity


class DeveloperRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class ErrorOut(BaseModel):
    """An error as the queue lists it: a grouped issue with its counts and triage state."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    service: str = Field(description="The project's name.")
    title: str
    culprit: str | None
    exception_type: str | None
    platform: str | None
    severity: Severity
    status: IssueStatus
    substatus: IssueSubstatus | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    times_seen: int = Field(description="Events (occurrences) counted.")
    users_affected: int
    first_release: str | None
    last_release: str | None
    environment: str | None = Field(description="Environment of the latest event.")
    assignee: DeveloperRef | None
    assigned_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None
    resolved_in_release: str | None
    resolved_in_next_release: bool
    is_regression: bool
    escalation_level: int
    snooze_until: dt.datetime | None
    snooze_event_limit: int | None
    snooze_user_limit: int | None
    impact_score: float
    updated_at: dt.datetime


def error_out(issue: object) -> ErrorOut:
    """ErrorOut from an Issue row whose `project` and `assignee` are loaded (eagerly, to avoid N+1 queries)."""
    from db.models import Issue

    assert isinstance(issue, Issue)
    return ErrorOut(
        id=issue.id,
        project_id=issue.project_id,
        service=issue.project.name,
        title=issue.title,
        culprit=issue.culprit,
        exception_type=issue.exception_type,
        platform=issue.platform,
        severity=issue.severity,
        status=issue.status,
        substatus=issue.substatus,
        first_seen=issue.first_seen,
        last_seen=issue.last_seen,
        times_seen=issue.times_seen,
        users_affected=issue.users_affected,
        first_release=issue.first_release,
        last_release=issue.last_release,
        environment=issue.last_environment,
        assignee=DeveloperRef.model_validate(issue.assignee) if issue.assignee else None,
        assigned_at=issue.assigned_at,
        acknowledged_at=issue.acknowledged_at,
        acknowledged_by=issue.acknowledged_by,
        resolved_at=issue.resolved_at,
        resolved_in_release=issue.resolved_in_release,
        resolved_in_next_release=issue.resolved_in_next_release,
        is_regression=issue.is_regression,
        escalation_level=issue.escalation_level,
        snooze_until=issue.snooze_until,
        snooze_event_limit=issue.snooze_event_limit,
        snooze_user_limit=issue.snooze_user_limit,
        impact_score=issue.impact_score,
        updated_at=issue.updated_at,
    )
