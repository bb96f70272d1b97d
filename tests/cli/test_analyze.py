"""`errlog analyze`: the analysis run once, on demand."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from db.enums import IssueSubstatus, PatternKind, Severity
from db.models import DailyStat, Issue, Pattern
from db.types import utcnow
from tests.db.factories import make_event, make_issue, make_project


def test_analyze_finds_patterns_scores_errors_and_rolls_up_today(errlog, read, database_url):
    engine = create_engine(database_url)
    with Session(engine) as session:
        project = make_project(session, name="shop")
        issue = make_issue(
            session, project, severity=Severity.CRITICAL, substatus=IssueSubstatus.REGRESSED, is_regression=True,
            times_seen=3, users_affected=1,
        )  # fmt: skip
        make_event(session, issue)
        session.commit()
        issue_id = issue.id
    engine.dispose()
    yesterday = (utcnow() - dt.timedelta(days=1)).date()

    result = errlog("analyze", "--json", "--day", yesterday.isoformat())
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["patterns"]["active"]["regression"] == 1 and report["patterns"]["new"] == 1
    assert report["impact_scores_changed"] == 1
    assert report["daily_stats_rows"] == {yesterday.isoformat(): 0, utcnow().date().isoformat(): 1}
    [pattern] = read(select(Pattern))
    assert (pattern.kind, pattern.issue_id) == (PatternKind.REGRESSION, issue_id)
    [score] = read(select(Issue.impact_score))
    assert score > 0
    [stat] = read(select(DailyStat))
    assert (stat.service, stat.events, stat.new_issues) == ("shop", 1, 1)

    again = errlog("analyze")
    assert again.exit_code == 0, again.output
    fields = {line[:24].strip(): line[24:].strip() for line in again.stdout.splitlines()[1:]}
    assert (fields["patterns"], fields["new / ended"], fields["impact scores changed"]) == (
        "1 regression",
        "0 / 0",
        "0",
    )
    assert len(read(select(Pattern))) == 1


def test_a_bad_day_is_one_error_line(errlog):
    result = errlog("analyze", "--day", "yesterday")
    assert result.exit_code == 2
    assert "Invalid value for '--day'" in result.output
