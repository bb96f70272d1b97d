"""What operators set up around alerting: maintenance windows that silence paging, and heartbeat monitors."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import UTCDateTime, utcnow


class MaintenanceWindow(Base):
    """A silence: for [starts_at, ends_at) nothing in its scope pages; events are still stored. The scope is one
    project (or all when project_id is null), narrowed by an optional query in the API's `q` syntax."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    query: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Alerts held back while it ran; the summary of them goes out once, when it ends.
    silenced_alerts: Mapped[int] = mapped_column(Integer, default=0)
    summary_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Heartbeat(Base):
    """A monitor expecting a check-in every `interval_minutes` (plus grace), by HTTP or a Sentry `check_in` item
    whose monitor_slug is `slug`. A missed or failed check-in becomes a critical error that pages."""

    __tablename__ = "heartbeats"
    __table_args__ = (
        UniqueConstraint("project_id", "slug"),
        Index("ix_heartbeats_active_due", "is_active", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    interval_minutes: Mapped[int] = mapped_column(Integer)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=5)
    # waiting (no check-in yet), ok, missed, failing (the last check-in reported an error)
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    last_check_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    # When the next check-in is late: last check-in (or creation) + interval + grace.
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The error raised for the current miss or failure, so a miss pages once and a later check-in can resolve it.
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
