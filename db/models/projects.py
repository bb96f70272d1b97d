"""Projects (the services that send errors) and their ingest keys."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.enums import KeyKind, enum_column
from db.types import BigId, JSONDoc, UTCDateTime, utcnow

if TYPE_CHECKING:
    from db.models.people import Developer, Team


# collector.grouping.CURRENT_VERSION (a test checks they agree; db imports nothing of the collector).
NEW_PROJECT_GROUPING_VERSION = 2
GROUPING_TRANSITION = dt.timedelta(days=30)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str | None] = mapped_column(String(50))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    # Who is paged when nobody is assigned and nobody is on call.
    fallback_developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    # Alert when an issue sees this many events within this many minutes.
    alert_threshold_events: Mapped[int | None] = mapped_column(Integer)
    alert_threshold_minutes: Mapped[int | None] = mapped_column(Integer)
    # Alert when the whole project receives more than this many events in a minute (checked on ingest and hourly).
    max_events_per_minute: Mapped[int | None] = mapped_column(Integer)
    # Environments that page (None: all of them), e.g. ["production"].
    alert_environments: Mapped[list[str] | None] = mapped_column(JSONDoc)
    # Severity -> channels, overriding the company-wide matrix.
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    scrub_ip_addresses: Mapped[bool] = mapped_column(Boolean, default=False)
    scrub_emails: Mapped[bool] = mapped_column(Boolean, default=False)
    # The grouping version (collector/grouping) its new events are fingerprinted by. Projects made before a version
    # existed keep theirs (the server default) until moved, so an upgrade never splits their errors.
    grouping_version: Mapped[int] = mapped_column(
        Integer, default=NEW_PROJECT_GROUPING_VERSION, server_default=text("1")
    )
    # The version it had before an admin last moved it, and when: for GROUPING_TRANSITION after the move, events
    # whose new fingerprint names no issue join the issue their old one names (collector/storage.py).
    previous_grouping_version: Mapped[int | None] = mapped_column(Integer)
    grouping_moved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    keys: Mapped[list[ProjectKey]] = relationship(back_populates="project", cascade="all, delete-orphan")
    team: Mapped[Team | None] = relationship()
    fallback_developer: Mapped[Developer | None] = relationship()


class ProjectKey(Base):
    """A key a service authenticates ingest with: a Sentry DSN public key or a webhook token (hashed)."""

    __tablename__ = "project_keys"
    __table_args__ = (UniqueConstraint("kind", "key_lookup"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[KeyKind] = mapped_column(enum_column(KeyKind, "key_kind"))
    # DSN keys: the public key itself. Webhook tokens: the SHA-256 of the token, never the token.
    key_lookup: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100), default="default")
    # Events per minute this key may send; None means the project's default limit.
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[Project] = relationship(back_populates="keys")
