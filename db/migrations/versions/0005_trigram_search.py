"""trigram indexes for text search on PostgreSQL, where the pg_trgm extension can be created

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 22:20:00.000000

Written by hand: the indexes are optional (not in the models), so autogenerate has nothing to say about them.

A text term in `q` is `title ILIKE '%word%' OR culprit ILIKE ... OR exception_type ILIKE ...`. Without an index that
can answer a substring match, a word in no title reads and matches every error (180-460 ms for 100,000 errors); GIN
trigram indexes answer it from the index (under a millisecond), and a frequent word keeps its plan (the list's order
index, stopping after one page of matches). Their price is on ingest: every stored batch rewrites the row of each
error it touches, so the three GIN indexes get new entries for it (into their pending list, merged later).

pg_trgm ships with PostgreSQL's contrib package and is a trusted extension (PostgreSQL 13+), so the database's owner
may create it; where it is missing or not allowed, the migration goes on without the indexes and search reads the
table as before. SQLite keeps its plan (a scan, fine at the sizes SQLite is meant for).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Index name -> column. Not declared on the model: the schema must not depend on an optional extension.
TRIGRAM_INDEXES = {
    "ix_issues_title_trgm": "title",
    "ix_issues_culprit_trgm": "culprit",
    "ix_issues_exception_type_trgm": "exception_type",
}


def _trigrams_available(bind: sa.Connection) -> bool:
    """Create pg_trgm if it is not there yet; False when that is not possible here."""
    installed = "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
    if bind.scalar(sa.text(installed)):
        return True
    if not bind.scalar(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")):
        return False
    try:
        # In a savepoint: a refused CREATE EXTENSION (no privilege) must not abort the migration's transaction.
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _trigrams_available(bind):
        return
    for name, column in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON issues USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    # The extension stays: other databases' objects or a DBA's own indexes may use it.
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
