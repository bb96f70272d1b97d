"""Notifications with their delivery attempts, escalation chains and the escalations they made."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.enums import Channel, EscalationCondition, NotificationStatus, Severity, enum_column
from db.types import BigId, JSONDoc, UTCDateTime, utcnow


class Notification(Base):
    """One message to one recipient on one channel for one (error, trigger).

    `idempotency_key` is unique, so a task that runs twice finds the row and never sends twice.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_issue", "issue_id", "created_at"),
        # GET notifications/: newest first, and per recipient.
        Index("ix_notifications_created_at_id", "created_at", "id"),
        Index("ix_notifications_developer_created_at", "developer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    # Address on the channel: e-mail, phone number, ntfy topic, webhook URL, ...
    target: Mapped[str] = mapped_column(String(500))
    # Why it was sent: new, regression, severity, threshold, escalation, summary, oncall_shift, heartbeat...
    trigger: Mapped[str] = mapped_column(String(40))
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    attempt_log: Mapped[list[NotificationAttempt]] = relationship(
        cascade="all, delete-orphan", order_by="NotificationAttempt.attempt"
    )


class NotificationAttempt(Base):
    """Every delivery attempt, kept with its HTTP status or error, for the TUI and API."""

    __tablename__ = "notification_attempts"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class EscalationChain(Base):
    __tablename__ = "escalation_chains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="default")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    steps: Mapped[list[EscalationStep]] = relationship(cascade="all, delete-orphan", order_by="EscalationStep.position")


class EscalationStep(Base):
    """E.g. critical unacknowledged for 15 minutes -> level 2 (secondary on-call)."""

    __tablename__ = "escalation_steps"
    __table_args__ = (
        UniqueConstraint("chain_id", "position"),
        CheckConstraint("after_minutes >= 0", name="non_negative_delay"),
        CheckConstraint("(target_level IS NOT NULL) OR (target_developer_id IS NOT NULL)", name="has_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("escalation_chains.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    # None: any severity.
    severity: Mapped[Severity | None] = mapped_column(enum_column(Severity, "severity"))
    condition: Mapped[EscalationCondition] = mapped_column(
        enum_column(EscalationCondition, "escalation_condition"), default=EscalationCondition.UNACKNOWLEDGED
    )
    after_minutes: Mapped[int] = mapped_column(Integer)
    # Escalate to the schedule's on-call at this level, or to a named developer (a team lead).
    target_level: Mapped[int | None] = mapped_column(Integer)
    target_developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    from_developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    to_developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_steps.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    # "chain" for automatic steps, otherwise the actor (token name) who escalated by hand.
    actor: Mapped[str] = mapped_column(String(100), default="chain")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
