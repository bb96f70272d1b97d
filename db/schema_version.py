"""Whether a database's schema is at the newest migration, answered without importing Alembic.

Every process that opens the database (the collector, the worker, each CLI command) checks this first; Alembic's
import is a tenth of a second or more of CPU, a good part of the local collector's start that errlog-tui waits for.
Only a database that is not up to date (or a history this reader does not follow) goes on to db/migrate.py."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
_ASSIGNMENT = r"^{name}\s*(?::[^=\n]*)?=\s*(?:None|['\"]([^'\"\n]+)['\"])\s*$"
_REVISION = re.compile(_ASSIGNMENT.format(name="revision"), re.MULTILINE)
_DOWN_REVISION = re.compile(_ASSIGNMENT.format(name="down_revision"), re.MULTILINE)


@cache
def script_head() -> str | None:
    """The head revision of the migration files, read from their `revision` and `down_revision` lines; None when
    the history is not one straight line this reader is sure of (a merge, a branch): Alembic must say."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS_DIR.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1 or not revision[0]:
            return None  # a tuple of parents, or a layout not written as one literal per line
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    if len(heads) != 1 or not parents <= revisions:
        return None
    return heads.pop()


def stored_revision(engine: Engine) -> str | None:
    """The revision recorded in the database's alembic_version table; None without the table or with several."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return None  # no table yet (a new database), or one Alembic itself must look at
    return rows[0] if len(rows) == 1 else None


def is_current(engine: Engine) -> bool:
    """True only when both sides are known and equal; False sends the caller to Alembic for the full check."""
    head = script_head()
    return head is not None and stored_revision(engine) == head
