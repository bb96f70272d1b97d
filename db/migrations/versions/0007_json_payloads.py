"""event payloads as json, not jsonb (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 04:00:00.000000

Written by hand.

An event's payload is written once per stored event and only ever read whole (an event's page, alert messages);
nothing queries inside it. jsonb parses every 8 KiB document into its binary tree on the way in, which was over half
of PostgreSQL's CPU per stored event: inserting the benchmark corpus's payloads in batches of 16 took the server
302 µs per row as jsonb and 130 µs as json (which checks the text is JSON and keeps it as it came, key order
included), both compressed with lz4. The column's lz4 setting (0006) is set again: the type change rewrites the
table.

The rewrite holds the table's lock while it runs, and ingestion waits for it: about 30 s per 100,000 stored events on
the benchmark machine. So it runs here only for up to LARGEST_REWRITE events; a larger table keeps jsonb (everything
works with either type: PostgreSQL converts on the way in, at the old cost) and the upgrade says how to convert it in
a quiet hour (docs/deployment.md). SQLite stores JSON as text already and has nothing to change.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

log = logging.getLogger(__name__)

# About a minute of rewrite on the benchmark machine.
LARGEST_REWRITE = 250_000

CONVERT = (
    "ALTER TABLE events ALTER COLUMN payload TYPE json USING payload::json; "
    "ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4;"
)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _change_payload_type(type_name: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.execute(sa.text(f"ALTER TABLE events ALTER COLUMN payload TYPE {type_name} USING payload::{type_name}"))
    try:
        # In a savepoint, as in 0006: a server without lz4 refuses the setting, the migration goes on.
        with bind.begin_nested():
            bind.execute(sa.text("ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4"))
    except sa.exc.DBAPIError:
        pass


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    counted = f"SELECT count(*) FROM (SELECT 1 FROM events LIMIT {LARGEST_REWRITE + 1}) AS first_rows"
    stored = bind.execute(sa.text(counted)).scalar()
    if stored is not None and stored > LARGEST_REWRITE:
        log.warning(
            "events holds over %d events: payloads stay jsonb for now (a rewrite would stop ingestion for minutes). "
            "To store them as json, which takes PostgreSQL half the CPU per event, run in a quiet hour: %s",
            LARGEST_REWRITE,
            CONVERT,
        )
        return
    _change_payload_type("json")


def downgrade() -> None:
    _change_payload_type("jsonb")
