"""Issues (grouped errors), their events, affected users and comments."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from sqlalchemy.sql.expression import Grouping

from db.base import Base
from db.enums import IssueStatus, IssueSubstatus, Severity, enum_column
from db.types import BigId, JSONDoc, JSONWhole, UTCDateTime, utcnow

if TYPE_CHECKING:
    from db.models.people import Developer
    from db.models.projects import Project


def severity_rank_of(severity: ColumnElement[str]) -> ColumnElement[int]:
    """0 for critical .. 3 for low, 9 for anything else. The values are literals, not bound parameters: a query's
    expression must read exactly as the one in ix_issues_severity_queue for PostgreSQL and SQLite to use the index."""
    return case(
        {literal_column(f"'{s.value}'"): literal_column(str(s.rank), Integer) for s in Severity},
        value=severity,
        else_=literal_column("9", Integer),
    )


class Issue(Base):
    """One bug: every event with the same fingerprint in a project. The API calls it an "error"."""

    __tablename__ = "issues"
    __table_args__ = (
        UniqueConstraint("project_id", "fingerprint"),
        # Filters on status, severity and service; the stats and counts group every issue by them, reading this
        # index in its order (a plain grouping, no hashing: it was the costliest part of GET errors/stats/).
        Index("ix_issues_status_severity_project", "status", "severity", "project_id"),
        Index("ix_issues_project_last_seen", "project_id", "last_seen"),
        # assignee=... and assigned:... filters.
        Index("ix_issues_assignee_status", "assignee_id", "status"),
        # Live refresh: what changed since the last poll.
        Index("ix_issues_updated_at", "updated_at"),
        # The list's sorts, each ending with the id as the keyset does: a page is the first rows of an index.
        Index("ix_issues_last_seen_id", "last_seen", "id"),
        Index("ix_issues_first_seen_id", "first_seen", "id"),
        Index("ix_issues_times_seen_id", "times_seen", "id"),
        Index("ix_issues_users_affected_id", "users_affected", "id"),
        Index("ix_issues_impact_score_id", "impact_score", "id"),
        # MTTA and MTTR: the errors acknowledged or resolved in a window, with their first sighting.
        Index(
            "ix_issues_acknowledged_at",
            "acknowledged_at",
            postgresql_include=["first_seen"],
            postgresql_where=text("acknowledged_at IS NOT NULL"),
            sqlite_where=text("acknowledged_at IS NOT NULL"),
        ),
        Index(
            "ix_issues_resolved_at",
            "resolved_at",
            postgresql_include=["first_seen"],
            postgresql_where=text("resolved_at IS NOT NULL"),
            sqlite_where=text("resolved_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Which grouping mechanism made the fingerprint, so an upgrade never silently re-groups old issues.
    grouping_version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(500))
    culprit: Mapped[str | None] = mapped_column(String(500))
    exception_type: Mapped[str | None] = mapped_column(String(200))
    platform: Mapped[str | None] = mapped_column(String(50))
    level: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "severity"), default=Severity.HIGH)
    status: Mapped[IssueStatus] = mapped_column(
        enum_column(IssueStatus, "issue_status"), default=IssueStatus.UNRESOLVED
    )
    substatus: Mapped[IssueSubstatus | None] = mapped_column(
        enum_column(IssueSubstatus, "issue_substatus"), default=IssueSubstatus.NEW
    )
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    times_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    users_affected: Mapped[int] = mapped_column(Integer, default=0)
    first_release: Mapped[str | None] = mapped_column(String(200))
    last_release: Mapped[str | None] = mapped_column(String(200))
    last_environment: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # "Resolved in release X" or "in the next release" (release filled in when it appears).
    resolved_in_release: Mapped[str | None] = mapped_column(String(200))
    resolved_in_next_release: Mapped[bool] = mapped_column(Boolean, default=False)
    is_regression: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # Snooze: quiet until a time, until N more events, or until N more users (counts taken at snooze).
    snooze_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    snooze_event_limit: Mapped[int | None] = mapped_column(BigInteger)
    snooze_user_limit: Mapped[int | None] = mapped_column(Integer)
    snooze_events_at_start: Mapped[int | None] = mapped_column(BigInteger)
    snooze_users_at_start: Mapped[int | None] = mapped_column(Integer)
    # events x users x severity weight, kept by the analysis tasks.
    impact_score: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # 0 for critical .. 3 for low: the queue sorts by it (the stored strings don't sort by urgency).
    severity_rank: Mapped[int] = column_property(severity_rank_of(severity))  # type: ignore[arg-type]

    project: Mapped[Project] = relationship()
    assignee: Mapped[Developer | None] = relationship()


_issues = Issue.__table__.c
# The queue (sort=severity): most severe first, then most recent; read backwards for order=asc.
# (PostgreSQL wants an index's CASE in parentheses.)
Index(
    "ix_issues_severity_queue",
    Grouping(severity_rank_of(_issues.severity)),
    _issues.last_seen.desc(),
    _issues.id.desc(),
)
# Workload: per developer, their open assignments, oldest first (one index read finds each developer's oldest)
# and, without reading the table, counted by severity and status.
Index(
    "ix_issues_open_assigned",
    _issues.assignee_id,
    func.coalesce(_issues.assigned_at, _issues.first_seen),
    _issues.id,
    postgresql_include=["severity", "status"],
    postgresql_where=text("assignee_id IS NOT NULL AND status IN ('unresolved', 'acknowledged')"),
    sqlite_where=text("assignee_id IS NOT NULL AND status IN ('unresolved', 'acknowledged')"),
)


class IssueUser(Base):
    """A distinct user an issue affected (id, e-mail, username or IP), for the users-affected count."""

    __tablename__ = "issue_users"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """One occurrence. `event_id` is unique per project so an SDK retry is stored and counted once."""

    __tablename__ = "events"
    __table_args__ = (
        # Event id first: the same index finds an event by its id alone (GET events/{event_id}/).
        UniqueConstraint("event_id", "project_id"),
        Index("ix_events_issue_received", "issue_id", "received_at"),
        # Retention deletes by age; stats read recent windows.
        Index("ix_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    level: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "severity"))
    environment: Mapped[str | None] = mapped_column(String(64))
    release: Mapped[str | None] = mapped_column(String(200))
    platform: Mapped[str | None] = mapped_column(String(50))
    message: Mapped[str | None] = mapped_column(Text)
    user_key: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[dict[str, str] | None] = mapped_column(JSONDoc)
    # The scrubbed, normalised event; None when the MongoDB archive holds it. Read whole, never queried inside.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONWhole)
    source: Mapped[str] = mapped_column(String(20), default="sentry")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
