"""One analysis pass: every pattern detector over the same recent events, saved together; and the impact scores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from db.enums import PatternKind
from db.event_rates import issue_minutes
from tasks.analysis.correlation import detect_correlated
from tasks.analysis.findings import SaveResult, save_findings
from tasks.analysis.impact import update_impact_scores
from tasks.analysis.lifecycle import detect_new_in_release, detect_recurring, detect_regressions
from tasks.analysis.params import AnalysisParams
from tasks.analysis.spikes import detect_spikes

RECENT = dt.timedelta(hours=1)


@dataclass(frozen=True)
class AnalysisResult:
    patterns: SaveResult
    active: dict[PatternKind, int]
    impact_updated: int


def detect_patterns(
    session: Session, now: dt.datetime, params: AnalysisParams
) -> tuple[SaveResult, dict[PatternKind, int]]:
    """Run every detector at `now` and make the active patterns what they found; the count found per kind."""
    project_of, minutes = issue_minutes(session, now - RECENT, now)
    findings = [
        *detect_spikes(session, now, params, project_of, minutes),
        *detect_recurring(session, now, params),
        *detect_regressions(session, now),
        *detect_new_in_release(session, now),
        *detect_correlated(session, now, project_of, minutes),
    ]
    found = {kind: sum(1 for f in findings if f.kind == kind) for kind in PatternKind}
    return save_findings(session, list(PatternKind), findings, now), found


def run_analysis(session: Session, now: dt.datetime, params: AnalysisParams) -> AnalysisResult:
    """The five-minute pass: patterns, and the impact of errors seen lately (their counts moved)."""
    saved, found = detect_patterns(session, now, params)
    # Twice the period, so a run that was skipped or late still covers every error that moved.
    updated = update_impact_scores(session, seen_since=now - 2 * RECENT)
    return AnalysisResult(saved, found, updated)
