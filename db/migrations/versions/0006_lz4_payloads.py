"""event payloads compressed with lz4 (PostgreSQL 14+ built with lz4)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:00:00.000000

Written by hand.

An event's payload is an 8 KiB jsonb document, past the 2 KiB TOAST threshold, so PostgreSQL compresses every one it
stores; with its default, pglz, that was a quarter of the server's CPU per stored event. lz4 compresses the same
documents at a fraction of the CPU (PostgreSQL's CPU per stored event 350-390 -> 250-260 µs on the benchmark corpus)
for about a tenth more disk (4.9 instead of 4.4 KB per stored payload). The setting applies to payloads written from
now on; stored ones stay as they are and both read alike. Servers older than 14 or built without lz4 refuse the
setting: the migration goes on without it. SQLite has no such setting.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _set_payload_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        # In a savepoint: a refused setting must not abort the migration's transaction.
        with bind.begin_nested():
            bind.execute(sa.text(f"ALTER TABLE events ALTER COLUMN payload SET COMPRESSION {method}"))
    except sa.exc.DBAPIError:
        pass  # PostgreSQL before 14, or built without lz4: payloads stay compressed as before


def upgrade() -> None:
    _set_payload_compression("lz4")


def downgrade() -> None:
    # Back to the server's default_toast_compression (pglz unless a DBA chose otherwise).
    _set_payload_compression("default")
