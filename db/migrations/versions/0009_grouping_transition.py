"""projects.previous_grouping_version, projects.grouping_moved_at: the transition after a project moves grouping

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 17:00:00.000000

Written by hand.

For a while after an admin moves a project to another grouping version, an event whose new fingerprint has no error
yet joins the error its old fingerprint names, so that the move neither splits the project's errors nor pages for
each of them anew (collector/storage.py). Both columns are empty until a project moves. Plain ALTER TABLE, as 0008.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("previous_grouping_version", sa.Integer(), nullable=True))
    op.add_column("projects", sa.Column("grouping_moved_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "grouping_moved_at")
    op.drop_column("projects", "previous_grouping_version")
