"""indexes for the REST API, and hourly and daily event counts (roll-ups) filled from the stored events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 20:07:46.130003

Generated with --autogenerate against a SQLite database at 0002, then completed by hand with what autogenerate
cannot see: the two expression indexes (ix_issues_severity_queue, ix_issues_open_assigned) and the backfill of the
roll-ups from the events already stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SEVERITY = sa.Enum(
    "critical", "high", "medium", "low", name="severity", native_enum=False, create_constraint=True, length=12
)
# Exactly the expression of db.models.issues.severity_rank_of, as queries render it.
SEVERITY_RANK = (
    "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 9 END"
)
OPEN_ASSIGNED = "assignee_id IS NOT NULL AND status IN ('unresolved', 'acknowledged')"

# Hour and day starts in UTC, as the ingest writer stores them: timestamptz on PostgreSQL (whatever the session's
# time zone), naive UTC text in SQLAlchemy's format on SQLite.
TRUNCATE = {
    "postgresql": {
        "hour": "date_trunc('hour', {} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
        "day": "date_trunc('day', {} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    },
    "sqlite": {
        "hour": "strftime('%Y-%m-%d %H:00:00.000000', {})",
        "day": "strftime('%Y-%m-%d 00:00:00.000000', {})",
    },
}


def _counts_of(table: str, key: str, referred: str, key_type: sa.types.TypeEngine, bucket: str) -> None:
    """A roll-up of events per (issue | project and severity) and hour | day."""
    by_project = key == "project_id"
    op.create_table(
        table,
        sa.Column(key, key_type, nullable=False),
        sa.Column(bucket, db.types.UTCDateTime(timezone=True), nullable=False),
        *([sa.Column("severity", SEVERITY, nullable=False)] if by_project else []),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            [key], [f"{referred}.id"], name=op.f(f"fk_{table}_{key}_{referred}"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            *((bucket, key, "severity") if by_project else (key, bucket)), name=op.f(f"pk_{table}")
        ),
    )


def upgrade() -> None:
    issue_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    _counts_of("issue_hourly_counts", "issue_id", "issues", issue_id, "hour")
    _counts_of("issue_daily_counts", "issue_id", "issues", issue_id, "day")
    _counts_of("project_hourly_counts", "project_id", "projects", sa.Integer(), "hour")
    _counts_of("project_daily_counts", "project_id", "projects", sa.Integer(), "day")
    op.create_index("ix_issue_hourly_counts_hour_events", "issue_hourly_counts", ["hour", "events"])
    op.create_index("ix_issue_daily_counts_day_events", "issue_daily_counts", ["day", "events"])
    _backfill()

    # The event id first, so that the one unique index also finds an event by its id alone.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_events_project_id_event_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_events_event_id_project_id"), ["event_id", "project_id"])

    op.drop_index("ix_issues_queue", table_name="issues")
    op.create_index("ix_issues_status_severity_project", "issues", ["status", "severity", "project_id"])
    for name, column in (
        ("ix_issues_last_seen_id", "last_seen"),
        ("ix_issues_first_seen_id", "first_seen"),
        ("ix_issues_times_seen_id", "times_seen"),
        ("ix_issues_users_affected_id", "users_affected"),
        ("ix_issues_impact_score_id", "impact_score"),
    ):
        op.create_index(name, "issues", [column, "id"])
    for column in ("acknowledged_at", "resolved_at"):
        op.create_index(
            f"ix_issues_{column}",
            "issues",
            [column],
            postgresql_include=["first_seen"],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
    op.create_index(
        "ix_issues_severity_queue",
        "issues",
        [sa.text(f"({SEVERITY_RANK})"), sa.text("last_seen DESC"), sa.text("id DESC")],
    )
    op.create_index(
        "ix_issues_open_assigned",
        "issues",
        ["assignee_id", sa.text("coalesce(assigned_at, first_seen)"), "id"],
        postgresql_include=["severity", "status"],
        postgresql_where=sa.text(OPEN_ASSIGNED),
        sqlite_where=sa.text(OPEN_ASSIGNED),
    )
    op.create_index("ix_notifications_created_at_id", "notifications", ["created_at", "id"])
    op.create_index("ix_notifications_developer_created_at", "notifications", ["developer_id", "created_at"])
    op.create_index(op.f("ix_pattern_issues_issue_id"), "pattern_issues", ["issue_id"])


def _backfill() -> None:
    """The roll-ups of the events stored so far: hours from the events, days from the hours."""
    truncate = TRUNCATE[op.get_bind().dialect.name]
    hour, day = truncate["hour"].format("received_at"), truncate["day"].format("hour")
    op.execute(
        "INSERT INTO issue_hourly_counts (issue_id, hour, events) "
        f"SELECT issue_id, {hour}, count(*) FROM events GROUP BY issue_id, {hour}"
    )
    op.execute(
        "INSERT INTO project_hourly_counts (hour, project_id, severity, events) "
        f"SELECT {hour}, project_id, severity, count(*) FROM events GROUP BY {hour}, project_id, severity"
    )
    op.execute(
        "INSERT INTO issue_daily_counts (issue_id, day, events) "
        f"SELECT issue_id, {day}, sum(events) FROM issue_hourly_counts GROUP BY issue_id, {day}"
    )
    op.execute(
        "INSERT INTO project_daily_counts (day, project_id, severity, events) "
        f"SELECT {day}, project_id, severity, sum(events) FROM project_hourly_counts "
        f"GROUP BY {day}, project_id, severity"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pattern_issues_issue_id"), table_name="pattern_issues")
    op.drop_index("ix_notifications_developer_created_at", table_name="notifications")
    op.drop_index("ix_notifications_created_at_id", table_name="notifications")
    for name in (
        "ix_issues_open_assigned",
        "ix_issues_severity_queue",
        "ix_issues_resolved_at",
        "ix_issues_acknowledged_at",
        "ix_issues_impact_score_id",
        "ix_issues_users_affected_id",
        "ix_issues_times_seen_id",
        "ix_issues_first_seen_id",
        "ix_issues_last_seen_id",
    ):
        op.drop_index(name, table_name="issues")
    op.drop_index("ix_issues_status_severity_project", table_name="issues")
    op.create_index("ix_issues_queue", "issues", ["status", "severity", "last_seen"])
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_events_event_id_project_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_events_project_id_event_id"), ["project_id", "event_id"])
    for name in ("project_daily_counts", "project_hourly_counts", "issue_daily_counts", "issue_hourly_counts"):
        op.drop_table(name)
