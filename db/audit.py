"""The audit log: one row per change made through the CLI, the REST API or a task."""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from db.models import AuditEntry


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in the audit log")


def _as_json(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    # Round-trip so dates and enums are stored as the same plain JSON on SQLite and PostgreSQL.
    return None if snapshot is None else json.loads(json.dumps(snapshot, default=_json_default))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    token_id: int | None = None,
    client_address: str | None = None,
) -> AuditEntry:
    """Add an audit row to the session; it commits (or rolls back) with the change it describes."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=_as_json(before),
        after=_as_json(after),
        token_id=token_id,
        client_address=client_address,
    )
    session.add(entry)
    return entry
