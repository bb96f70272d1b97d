"""What the analysis tasks derive: detected patterns and daily stats roll-ups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.enums import PatternKind, Severity, enum_column
from db.types import BigId, JSONDoc, UTCDateTime, utcnow


class Pattern(Base):
    __tablename__ = "patterns"
    __table_args__ = (Index("ix_patterns_active_detected", "is_active", "detected_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[PatternKind] = mapped_column(enum_column(PatternKind, "pattern_kind"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # The main issue; correlated patterns list the others in `issues`.
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    window_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    issues: Mapped[list[PatternIssue]] = relationship(cascade="all, delete-orphan")


class PatternIssue(Base):
    __tablename__ = "pattern_issues"

    pattern_id: Mapped[int] = mapped_column(ForeignKey("patterns.id", ondelete="CASCADE"), primary_key=True)
    # The patterns an error is part of (GET patterns/?error_id=); the key leads with the pattern.
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True, index=True)


class DailyStat(Base):
    """Per day, project and severity: events, new, regressed and resolved issues, users."""

    __tablename__ = "daily_stats"
    __table_args__ = (UniqueConstraint("day", "project_id", "severity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "severity"))
    events: Mapped[int] = mapped_column(Integer, default=0)
    new_issues: Mapped[int] = mapped_column(Integer, default=0)
    regressed_issues: Mapped[int] = mapped_column(Integer, default=0)
    resolved_issues: Mapped[int] = mapped_column(Integer, default=0)
    users_affected: Mapped[int] = mapped_column(Integer, default=0)
    # Kept as a label for SQL readers who join nothing.
    service: Mapped[str | None] = mapped_column(String(100))
