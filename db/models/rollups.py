"""Event counts per hour and per day, kept by the ingest writer so that histograms and stats never scan raw events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.enums import Severity, enum_column
from db.types import UTCDateTime

# Every table here is written in the same transaction as the events it counts (collector/storage.py). Retention
# (db/retention.py) deletes old events but keeps the daily rows, so the counts outlive the raw events; hourly rows
# go after 35 days, past the longest window the stats read them for, and minute rows after two days.


class IssueHourlyCount(Base):
    """Events of one issue received in one UTC hour (`hour` is the start of the hour)."""

    __tablename__ = "issue_hourly_counts"
    __table_args__ = (
        # The busiest issues of an hour first: the top errors of a window read a few rows of each hour.
        Index("ix_issue_hourly_counts_hour_events", "hour", "events"),
    )

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class IssueDailyCount(Base):
    """Events of one issue received in one UTC day (`day` is its midnight)."""

    __tablename__ = "issue_daily_counts"
    __table_args__ = (Index("ix_issue_daily_counts_day_events", "day", "events"),)

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class ProjectHourlyCount(Base):
    """Events of one project with one event severity received in one UTC hour: the stats' series by severity and
    by service, in at most services x 4 rows an hour however many issues there are."""

    __tablename__ = "project_hourly_counts"

    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "severity"), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class ProjectDailyCount(Base):
    """As ProjectHourlyCount, per UTC day."""

    __tablename__ = "project_daily_counts"

    day: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "severity"), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class ProjectMinuteCount(Base):
    """Events of one project received in one UTC minute: a project's events-per-minute limit is checked after every
    batch by reading one row instead of counting the minute's events (collector/alerts.py). Kept two days."""

    __tablename__ = "project_minute_counts"

    minute: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class SeverityHourlyCount(Base):
    """Events with one event severity received in one UTC hour, all projects together: the stats' series over
    hours reads 4 rows an hour instead of services x 4. (No project to cascade from: a project is never deleted.)"""

    __tablename__ = "severity_hourly_counts"

    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "severity"), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
