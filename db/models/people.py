"""Developers, teams, on-call schedules with their rotations and overrides."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.types import JSONDoc, UTCDateTime, utcnow


class Developer(Base):
    __tablename__ = "developers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    slack_id: Mapped[str | None] = mapped_column(String(64))
    ntfy_topic: Mapped[str | None] = mapped_column(String(128))
    pushover_user_key: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Severity -> channels this developer wants, e.g. {"critical": ["sms", "ntfy"], "medium": []}.
    channel_preferences: Mapped[dict[str, list[str]] | None] = mapped_column(JSONDoc)
    # Local wall-clock quiet hours in the developer's time zone; critical alerts break them.
    quiet_hours_start: Mapped[dt.time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[dt.time | None] = mapped_column(Time)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    lead_developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[TeamMember]] = relationship(cascade="all, delete-orphan")


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    developer_id: Mapped[int] = mapped_column(
        ForeignKey("developers.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    developer: Mapped[Developer] = relationship()


class OncallSchedule(Base):
    """Who answers for a project or a team: one or more rotations (levels) plus overrides."""

    __tablename__ = "oncall_schedules"
    __table_args__ = (
        CheckConstraint("(project_id IS NOT NULL) OR (team_id IS NOT NULL)", name="scoped_to_project_or_team"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    rotations: Mapped[list[OncallRotation]] = relationship(
        back_populates="schedule", cascade="all, delete-orphan", order_by="OncallRotation.level"
    )
    overrides: Mapped[list[OncallOverride]] = relationship(
        back_populates="schedule", cascade="all, delete-orphan", order_by="OncallOverride.starts_at"
    )


class OncallRotation(Base):
    """Participants taking turns: shifts of `shift_hours` of local wall-clock time from `start_date` at
    `handoff_time` in `timezone`, so a 09:00 hand-off stays at 09:00 across DST changes."""

    __tablename__ = "oncall_rotations"
    __table_args__ = (
        UniqueConstraint("schedule_id", "level"),
        CheckConstraint("shift_hours > 0", name="positive_shift"),
        CheckConstraint("level >= 1", name="level_from_one"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"))
    # 1 = primary, 2 = secondary, ...: escalation chains page by level.
    level: Mapped[int] = mapped_column(Integer, default=1)
    start_date: Mapped[dt.date] = mapped_column(Date)
    handoff_time: Mapped[dt.time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    shift_hours: Mapped[int] = mapped_column(Integer, default=168)

    schedule: Mapped[OncallSchedule] = relationship(back_populates="rotations")
    participants: Mapped[list[RotationParticipant]] = relationship(
        cascade="all, delete-orphan", order_by="RotationParticipant.position"
    )


class RotationParticipant(Base):
    __tablename__ = "rotation_participants"

    rotation_id: Mapped[int] = mapped_column(ForeignKey("oncall_rotations.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"), index=True)

    developer: Mapped[Developer] = relationship()


class OncallOverride(Base):
    """A developer covering a schedule's level for a period (swaps, sick days, holidays)."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer, default=1)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    schedule: Mapped[OncallSchedule] = relationship(back_populates="overrides")
    developer: Mapped[Developer] = relationship()

    def covers(self, at: dt.datetime) -> bool:
        return self.starts_at <= at < self.ends_at
