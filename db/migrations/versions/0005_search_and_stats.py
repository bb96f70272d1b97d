"""trigram indexes for text search (PostgreSQL, where pg_trgm can be created); hourly event counts per severity

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 22:20:00.000000

Written by hand.

Text search. A text term in `q` is `title ILIKE '%word%' OR culprit ILIKE ... OR exception_type ILIKE ...`. Without
an index that can answer a substring match, a word in no title reads and matches every error (180-460 ms for 100,000
errors); GIN trigram indexes answer it from the index, and a frequent word keeps its plan (the list's order index,
stopping after one page of matches). Their price is on ingest: every stored batch rewrites the row of each error it
touches, so the three GIN indexes get new entries for it (into their pending list, merged later). pg_trgm ships
with PostgreSQL's contrib package and is a trusted extension (PostgreSQL 13+), so the database's owner may create
it; where it is missing or not allowed, the migration goes on without the indexes and search reads the table as
before. The indexes are not on the models (the schema must not depend on an optional extension). SQLite keeps its
plan (a scan, fine at the sizes SQLite is meant for).

Severity counts. GET errors/stats/ draws its series over hours from project_hourly_counts, services x 4 rows an
hour (13,000 rows for 7 days with 20 services); severity_hourly_counts holds 4 rows an hour, filled here from
project_hourly_counts and kept by the ingest writer from now on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEVERITY = sa.Enum(
    "critical", "high", "medium", "low", name="severity", native_enum=False, create_constraint=True, length=12
)
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
    op.create_table(
        "severity_hourly_counts",
        sa.Column("hour", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("severity", SEVERITY, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "severity", name=op.f("pk_severity_hourly_counts")),
    )
    op.execute(
        "INSERT INTO severity_hourly_counts (hour, severity, events) "
        "SELECT hour, severity, sum(events) FROM project_hourly_counts GROUP BY hour, severity"
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _trigrams_available(bind):
        try:
            with bind.begin_nested():
                for name, column in TRIGRAM_INDEXES.items():
                    bind.execute(
                        sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON issues USING gin ({column} gin_trgm_ops)")
                    )
        except sa.exc.DBAPIError:
            # The extension is there but its operator class is not reachable (installed in a schema off the
            # search path): search works without the indexes, so the upgrade goes on.
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: other databases' objects or a DBA's own indexes may use it.
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_table("severity_hourly_counts")
