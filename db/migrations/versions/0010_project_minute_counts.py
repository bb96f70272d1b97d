"""project_minute_counts: each project's events per UTC minute, for its events-per-minute limit

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:00:00.000000

Written by hand.

After each batch the collector checks the limit of the batch's projects (collector/alerts.py); it counted the
minute's events, which at a thousand events a second is tens of thousands of rows per batch. The writer now adds
each batch to this table with the other roll-ups, and the check reads one row. Starts empty: the minute the upgrade
runs in is counted from then on. Retention deletes rows older than two days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_minute_counts",
        sa.Column("minute", UTCDateTime(timezone=True), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_minute_counts_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("minute", "project_id", name=op.f("pk_project_minute_counts")),
    )


def downgrade() -> None:
    op.drop_table("project_minute_counts")
