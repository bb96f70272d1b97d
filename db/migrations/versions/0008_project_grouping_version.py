"""projects.grouping_version: which grouping a project's new events are fingerprinted by

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 16:30:00.000000

Written by hand.

Grouping v2 groups JavaScript methods by their own name (collector/grouping/v2.py), so some JavaScript events get
other fingerprints than under v1. A project that existed before keeps v1 (the column's default for existing rows):
its errors would otherwise split the moment the collector is upgraded. New projects start on the current version
(the model's default); an admin moves an old project when they choose (docs/guide.md, "Grouping versions").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on SQLite too (3.35+ drops a column in place): a batch operation would copy the table and drop
# the old one, and with foreign keys on, that drop deletes every issue and event of every project (ON DELETE CASCADE).
def upgrade() -> None:
    op.add_column("projects", sa.Column("grouping_version", sa.Integer(), server_default=sa.text("1"), nullable=False))


def downgrade() -> None:
    op.drop_column("projects", "grouping_version")
