"""The impact score kept on each error (Issue.impact_score), which GET errors/?sort=impact orders by.

impact = severity weight x log2(1 + events) x log2(2 + users affected)

Logarithms, so that an error with a million events does not bury everything else forever: each doubling of events
or users adds a step. Users count from 2 so that an error without user data (0 users) still scores by its events.
The weights make one severity level worth roughly a 16-fold rise in events (critical 8, high 4, medium 2, low 1)."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import BigInteger, Column, Float, MetaData, Table, bindparam, select, update
from sqlalchemy.orm import Session

from db.enums import Severity
from db.models import Issue

SEVERITY_WEIGHTS = {Severity.CRITICAL: 8.0, Severity.HIGH: 4.0, Severity.MEDIUM: 2.0, Severity.LOW: 1.0}
BATCH = 1000
# The two columns the score update touches, as a bare table: no ORM onupdate applies, so updated_at stays.
ISSUES = Table("issues", MetaData(), Column("id", BigInteger), Column("impact_score", Float))


def impact_score(events: int, users: int, severity: Severity | str) -> float:
    weight = SEVERITY_WEIGHTS.get(Severity(severity), 1.0)
    return round(weight * math.log2(1 + max(events, 0)) * math.log2(2 + max(users, 0)), 3)


def update_impact_scores(session: Session, *, seen_since: dt.datetime | None = None) -> int:
    """Recompute the score of errors seen since `seen_since` (None: all errors, as the nightly run does, which also
    catches severities changed by hand); only changed scores are written. Returns how many changed."""
    changed = 0
    last_id = 0
    while True:
        query = select(Issue.id, Issue.times_seen, Issue.users_affected, Issue.severity, Issue.impact_score).where(
            Issue.id > last_id
        )
        if seen_since is not None:
            query = query.where(Issue.last_seen >= seen_since)
        rows = session.execute(query.order_by(Issue.id).limit(BATCH)).all()
        if not rows:
            return changed
        updates = [
            {"issue_id": row.id, "score": score}
            for row in rows
            if (score := impact_score(row.times_seen, row.users_affected, row.severity)) != row.impact_score
        ]
        if updates:
            # Only the score: the TUI's live refresh (by updated_at) is not flooded by score changes.
            session.connection().execute(
                update(ISSUES).where(ISSUES.c.id == bindparam("issue_id")).values(impact_score=bindparam("score")),
                updates,
            )
            changed += len(updates)
        last_id = rows[-1].id
