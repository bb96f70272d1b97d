"""reporting views for SQL and dashboard users (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN = "('unresolved', 'acknowledged')"

ISSUE_COLUMNS = """
    i.id AS error_id, p.name AS service, i.title, i.culprit, i.severity, i.status, i.substatus,
    i.times_seen AS events, i.users_affected, i.first_seen, i.last_seen, i.last_environment AS environment,
    i.last_release AS release, d.name AS assignee, i.acknowledged_at, i.escalation_level, i.is_regression
"""

ISSUE_JOINS = """
    FROM issues i
    JOIN projects p ON p.id = i.project_id
    LEFT JOIN developers d ON d.id = i.assignee_id
"""

VIEWS = {
    "recent_errors": f"""
        SELECT {ISSUE_COLUMNS} {ISSUE_JOINS}
        WHERE i.last_seen >= now() - interval '24 hours'
    """,
    "unresolved_critical_errors": f"""
        SELECT {ISSUE_COLUMNS} {ISSUE_JOINS}
        WHERE i.severity = 'critical' AND i.status IN {OPEN}
    """,
    "error_summary_by_service": f"""
        SELECT p.id AS project_id, p.name AS service,
            count(i.id) AS errors,
            count(i.id) FILTER (WHERE i.status IN {OPEN}) AS open_errors,
            count(i.id) FILTER (WHERE i.status IN {OPEN} AND i.severity = 'critical') AS open_critical,
            count(i.id) FILTER (WHERE i.status IN {OPEN} AND i.severity = 'high') AS open_high,
            count(i.id) FILTER (WHERE i.status IN {OPEN} AND i.severity = 'medium') AS open_medium,
            count(i.id) FILTER (WHERE i.status IN {OPEN} AND i.severity = 'low') AS open_low,
            count(i.id) FILTER (WHERE i.status = 'resolved') AS resolved_errors,
            coalesce(sum(i.times_seen), 0) AS events,
            max(i.last_seen) AS last_seen
        FROM projects p
        LEFT JOIN issues i ON i.project_id = p.id
        GROUP BY p.id, p.name
    """,
    "developer_workload": f"""
        SELECT d.id AS developer_id, d.name, d.email,
            count(i.id) AS open_assigned,
            count(i.id) FILTER (WHERE i.severity = 'critical') AS critical,
            count(i.id) FILTER (WHERE i.severity = 'high') AS high,
            count(i.id) FILTER (WHERE i.severity = 'medium') AS medium,
            count(i.id) FILTER (WHERE i.severity = 'low') AS low,
            count(i.id) FILTER (WHERE i.status = 'unresolved') AS unacknowledged,
            min(i.assigned_at) AS oldest_assigned_at
        FROM developers d
        LEFT JOIN issues i ON i.assignee_id = d.id AND i.status IN {OPEN}
        WHERE d.is_active
        GROUP BY d.id, d.name, d.email
    """,
    "daily_error_trends": """
        SELECT (e.received_at AT TIME ZONE 'UTC')::date AS day, p.name AS service, e.severity,
            count(*) AS events,
            count(DISTINCT e.issue_id) AS errors,
            count(DISTINCT e.user_key) AS users_affected
        FROM events e
        JOIN projects p ON p.id = e.project_id
        GROUP BY 1, 2, 3
    """,
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, query in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
