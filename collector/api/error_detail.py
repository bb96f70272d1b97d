"""GET errors/{id}/: one error with its latest event, tag values, histograms and timeline, in a fixed number of
queries whatever the error's size."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from collector.api.errors_read import load_error
from collector.api.events_read import EventOut, event_out
from collector.api.framework import Api, ApiContext, ApiRequest
from collector.api.histograms import Histogram, hours_and_days
from collector.api.schemas import DeveloperRef, ErrorOut, error_out
from collector.api.tag_values import TAG_SAMPLE, TagDistribution, tag_distribution
from db.enums import Channel, NotificationStatus, Role
from db.escalation_chain import next_step_for
from db.models import AuditEntry, Comment, Developer, Escalation, Event, Issue, Notification

api = Api()
TAG = "errors"
TIMELINE_LIMIT = 200  # newest rows taken from each source
# Audit actions whose story a richer row tells already (a Comment, an Escalation).
COVERED_ACTIONS = ("error.comment", "error.escalate")


class ChangeEntry(BaseModel):
    audit_id: int
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    client_address: str | None


class CommentEntry(BaseModel):
    id: int
    author: str
    body: str


class NotificationEntry(BaseModel):
    id: int
    channel: Channel
    target: str
    trigger: str
    status: NotificationStatus
    attempts: int
    max_attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    sent_at: dt.datetime | None
    developer: DeveloperRef | None


class EscalationEntry(BaseModel):
    id: int
    level: int
    reason: str
    from_developer: DeveloperRef | None
    to_developer: DeveloperRef | None


class TimelineEntry(BaseModel):
    """One thing that happened to the error; the field named like `kind` holds its details."""

    at: dt.datetime
    kind: Literal["first_seen", "change", "comment", "notification", "escalation"]
    actor: str | None
    summary: str
    change: ChangeEntry | None = None
    comment: CommentEntry | None = None
    notification: NotificationEntry | None = None
    escalation: EscalationEntry | None = None


class NextEscalation(BaseModel):
    """The step the project's escalation chain takes next, if the error's state stays as it is."""

    chain: str
    step: int = Field(description="1-based, among the chain's steps for the error's severity.")
    level: int
    condition: str = Field(description="unacknowledged or unresolved")
    after_minutes: int
    due_at: dt.datetime = Field(description="Checked every minute; past due means at the next check.")
    reason: str = Field(description="The reason the escalation will record.")


class ErrorDetail(ErrorOut):
    latest_event: EventOut | None
    tags: list[TagDistribution]
    tags_sampled_events: int = Field(description=f"Events the tag values were counted over (the newest {TAG_SAMPLE}).")
    histogram_24h: Histogram
    histogram_30d: Histogram
    timeline: list[TimelineEntry] = Field(description="Oldest first.")
    timeline_truncated: bool = Field(
        description=f"True when a source had more than {TIMELINE_LIMIT} entries (the oldest ones are left out)."
    )
    next_escalation: NextEscalation | None = Field(
        None, description="Null when the project has no chain, or no step of it applies to the error now."
    )


@api.route(
    "GET", "/errors/{error_id:int}/", role=Role.VIEWER, summary="Get one error in full", tag=TAG, response=ErrorDetail
)
def get_error(ctx: ApiContext, req: ApiRequest) -> ErrorDetail:
    """The error with its latest event (full payload: stack trace with context lines, breadcrumbs, request, user,
    contexts; read from the MongoDB archive when it holds it), tag value distribution, hourly
    events over 24 h and daily over 30 d, and its timeline: first seen, changes (assignment, acknowledgement,
    resolution, status), comments, notifications with their delivery state, escalations; and the escalation chain's
    next step, when one is ahead."""
    issue = load_error(ctx.session, req.path["error_id"])
    session = ctx.session
    latest = session.scalars(
        select(Event).where(Event.issue_id == issue.id).order_by(Event.received_at.desc(), Event.id.desc()).limit(1)
    ).first()
    tags, sampled = tag_distribution(session, issue.id)
    histogram_24h, histogram_30d = hours_and_days(session, issue.id, ctx.now, hours=24, days=30)
    timeline, truncated = _timeline(ctx, issue)
    return ErrorDetail(
        **dict(error_out(issue)),
        latest_event=event_out(latest, issue.project.name, ctx.archive) if latest else None,
        tags=tags,
        tags_sampled_events=sampled,
        histogram_24h=histogram_24h,
        histogram_30d=histogram_30d,
        timeline=timeline,
        timeline_truncated=truncated,
        next_escalation=_next_escalation(session, issue),
    )


def _next_escalation(session: Session, issue: Issue) -> NextEscalation | None:
    step = next_step_for(session, issue)
    if step is None:
        return None
    return NextEscalation(
        chain=step.chain_name,
        step=step.number,
        level=step.level,
        condition=step.condition.value,
        after_minutes=step.after_minutes,
        due_at=step.due_at,
        reason=step.reason(),
    )


def _timeline(ctx: ApiContext, issue: Issue) -> tuple[list[TimelineEntry], bool]:
    session = ctx.session
    audit = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.target_type == "error",
            AuditEntry.target_id == str(issue.id),
            AuditEntry.action.not_in(COVERED_ACTIONS),
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    comments = session.scalars(
        select(Comment)
        .where(Comment.issue_id == issue.id)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    recipient = aliased(Developer)
    notifications = session.execute(
        select(Notification, recipient)
        .outerjoin(recipient, recipient.id == Notification.developer_id)
        .where(Notification.issue_id == issue.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    source, target = aliased(Developer), aliased(Developer)
    escalations = session.execute(
        select(Escalation, source, target)
        .outerjoin(source, source.id == Escalation.from_developer_id)
        .outerjoin(target, target.id == Escalation.to_developer_id)
        .where(Escalation.issue_id == issue.id)
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    truncated = any(len(rows) >= TIMELINE_LIMIT for rows in (audit, comments, notifications, escalations))
    entries = [_first_seen(issue)]
    entries += [_change(entry) for entry in audit]
    entries += [_comment(comment) for comment in comments]
    entries += [_notification(row[0], row[1]) for row in notifications]
    entries += [_escalation(row[0], row[1], row[2]) for row in escalations]
    entries.sort(key=lambda entry: entry.at)
    return entries, truncated


def _ref(developer: Developer | None) -> DeveloperRef | None:
    return DeveloperRef.model_validate(developer) if developer is not None else None


def _first_seen(issue: Issue) -> TimelineEntry:
    release = f" in release {issue.first_release}" if issue.first_release else ""
    return TimelineEntry(
        at=issue.first_seen, kind="first_seen", actor=None, summary=f"first seen in {issue.project.name}{release}"
    )


def _change(entry: AuditEntry) -> TimelineEntry:
    before, after = entry.before or {}, entry.after or {}
    changes = [f"{key} {before[key]} -> {after[key]}" for key in after if key in before][:4]
    summary = f"{entry.action.removeprefix('error.')} by {entry.actor}" + (f": {', '.join(changes)}" if changes else "")
    return TimelineEntry(
        at=entry.at,
        kind="change",
        actor=entry.actor,
        summary=summary,
        change=ChangeEntry(
            audit_id=entry.id,
            action=entry.action,
            before=entry.before,
            after=entry.after,
            client_address=entry.client_address,
        ),
    )


def _comment(comment: Comment) -> TimelineEntry:
    return TimelineEntry(
        at=comment.created_at,
        kind="comment",
        actor=comment.author,
        summary=f"{comment.author}: {comment.body[:200]}",
        comment=CommentEntry(id=comment.id, author=comment.author, body=comment.body),
    )


def _notification(row: Notification, developer: Developer | None) -> TimelineEntry:
    summary = f"{row.channel} to {row.target} ({row.trigger}): {row.status} after {row.attempts} attempt(s)"
    if row.last_error:
        summary += f": {row.last_error[:200]}"
    return TimelineEntry(
        at=row.created_at,
        kind="notification",
        actor="system",
        summary=summary,
        notification=NotificationEntry(
            id=row.id,
            channel=row.channel,
            target=row.target,
            trigger=row.trigger,
            status=row.status,
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            sent_at=row.sent_at,
            developer=_ref(developer),
        ),
    )


def _escalation(row: Escalation, source: Developer | None, target: Developer | None) -> TimelineEntry:
    summary = f"escalated to level {row.level}" + (f", to {target.name}" if target else "") + f": {row.reason[:200]}"
    return TimelineEntry(
        at=row.created_at,
        kind="escalation",
        actor=row.actor,
        summary=summary,
        escalation=EscalationEntry(
            id=row.id, level=row.level, reason=row.reason, from_developer=_ref(source), to_developer=_ref(target)
        ),
    )
