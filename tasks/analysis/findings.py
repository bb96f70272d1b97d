"""What a detector reports, and how findings become Pattern rows: upserted by key, deactivated when no longer true."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.enums import PatternKind
from db.models import Pattern, PatternIssue

# A pattern's identity: the same (kind, project, main error) found again updates the row it made before.
PatternKey = tuple[PatternKind, int | None, int | None]


@dataclass(frozen=True)
class Finding:
    kind: PatternKind
    project_id: int | None
    issue_id: int | None
    description: str
    score: float
    details: dict[str, Any] = field(default_factory=dict)
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    # Every error the pattern is about, the main one included (correlated patterns list several).
    issue_ids: tuple[int, ...] = ()

    @property
    def key(self) -> PatternKey:
        return (self.kind, self.project_id, self.issue_id)


@dataclass(frozen=True)
class SaveResult:
    created: int
    updated: int
    deactivated: int


def save_findings(
    session: Session, kinds: Iterable[PatternKind], findings: Iterable[Finding], now: dt.datetime
) -> SaveResult:
    """Make the active patterns of `kinds` exactly `findings`: new ones inserted, known ones updated in place (their
    first detection time kept), and active ones not found again deactivated."""
    kinds = list(kinds)
    active = session.scalars(
        select(Pattern)
        .where(Pattern.is_active.is_(True), Pattern.kind.in_(kinds))
        .options(selectinload(Pattern.issues))
        .order_by(Pattern.id)
    ).all()
    by_key: dict[PatternKey, Pattern] = {}
    for pattern in active:
        key = (PatternKind(pattern.kind), pattern.project_id, pattern.issue_id)
        if key in by_key:  # a duplicate (two runs raced before the lock existed): keep the oldest only
            pattern.is_active = False
            continue
        by_key[key] = pattern

    created = updated = 0
    seen: set[PatternKey] = set()
    for finding in findings:
        if finding.key in seen:
            continue
        seen.add(finding.key)
        known = by_key.get(finding.key)
        if known is not None:
            pattern = known
            updated += 1
        else:
            pattern = Pattern(kind=finding.kind, project_id=finding.project_id, issue_id=finding.issue_id)
            pattern.detected_at = now
            pattern.is_active = True
            session.add(pattern)
            created += 1
        pattern.description = finding.description
        pattern.score = round(finding.score, 3)
        pattern.details = finding.details
        pattern.window_start = finding.window_start
        pattern.window_end = finding.window_end
        _link(pattern, finding)

    deactivated = 0
    for key, pattern in by_key.items():
        if key not in seen:
            pattern.is_active = False
            deactivated += 1
    session.flush()
    return SaveResult(created, updated, deactivated)


def _link(pattern: Pattern, finding: Finding) -> None:
    wanted = set(finding.issue_ids) | ({finding.issue_id} if finding.issue_id is not None else set())
    current = {link.issue_id for link in pattern.issues}
    if wanted == current:
        return
    pattern.issues[:] = [link for link in pattern.issues if link.issue_id in wanted]
    pattern.issues.extend(PatternIssue(issue_id=issue_id) for issue_id in sorted(wanted - current))
