"""Spike detection on synthetic series: known spikes are found, noise, steady high rates and normal daily peaks
are not; spikes are updated in place and end when the rate falls back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import PatternKind, Severity
from db.models import Issue, Pattern
from tasks.analysis.params import AnalysisParams
from tasks.analysis.run import detect_patterns
from tasks.analysis.spikes import check_spike, window_share
from tests.db.factories import make_issue, make_project
from tests.tasks.analysis.series import DAY, HOUR, LONG_AGO, NOW, add_events, last_hour, seed_history, spread

PARAMS = AnalysisParams()


def spikes(session: Session, now: dt.datetime = NOW) -> list[Pattern]:
    detect_patterns(session, now, PARAMS)
    return list(
        session.scalars(
            select(Pattern).where(Pattern.kind == PatternKind.SPIKE, Pattern.is_active.is_(True)).order_by(Pattern.id)
        )
    )


def make_error(session: Session, *, since: dt.datetime = LONG_AGO) -> Issue:
    """checkout's 'TimeoutError in pay()', known (like its service) since `since`."""
    project = make_project(session, name="checkout", created_at=since)
    return make_issue(session, project, title="TimeoutError in pay()", first_seen=since, severity=Severity.HIGH)


def test_the_robust_check_on_its_own() -> None:
    usual_15 = [15, 14, 16, 15, 13, 17, 15]
    assert check_spike(184, usual_15, min_events=10).is_spike
    assert not check_spike(24, usual_15, min_events=10).is_spike  # within Poisson noise of 15
    noisy = [10, 30, 12, 28, 15, 25, 18]
    assert not check_spike(32, noisy, min_events=10).is_spike
    assert check_spike(120, noisy, min_events=10).is_spike
    # A quiet error's few events are no spike, however large the ratio.
    assert not check_spike(6, [0, 0, 0, 0, 0, 0, 0], min_events=10).is_spike
    assert check_spike(40, [0, 0, 0, 0, 0, 0, 0], min_events=10).is_spike
    # One odd day in the baseline does not hide a spike (the median and MAD ignore it).
    assert check_spike(184, [15, 15, 15, 15, 15, 15, 900], min_events=10).is_spike
    # Two days of history are not a baseline.
    assert not check_spike(184, [15, 15], min_events=10).is_spike


def test_a_window_straddling_two_hours_takes_each_hours_share() -> None:
    hourly = {dt.datetime(2026, 1, 1, 13, tzinfo=dt.UTC): 60, dt.datetime(2026, 1, 1, 14, tzinfo=dt.UTC): 120}
    start = dt.datetime(2026, 1, 1, 13, 30, tzinfo=dt.UTC)
    assert window_share(hourly, start, start + HOUR) == pytest.approx(30 + 60)
    assert window_share(hourly, start, start + dt.timedelta(minutes=15)) == pytest.approx(15)


def test_a_known_spike_is_found_and_described(db_session: Session) -> None:
    issue = make_error(db_session)
    seed_history(db_session, [issue], lambda hour: 15)
    add_events(db_session, issue, last_hour(184))

    [pattern] = spikes(db_session)
    assert pattern.issue_id == issue.id and pattern.project_id == issue.project_id
    assert pattern.description == (
        "checkout: 'TimeoutError in pay()' 184 events in the last hour, 12x its usual 15 for this hour"
    )
    assert pattern.score == pytest.approx(184 / 15, rel=1e-3)
    assert pattern.details == {"events": 184, "usual": 15.0, "threshold": pytest.approx(30.49, abs=0.01),
                               "window_minutes": 60}  # fmt: skip
    assert (pattern.window_start, pattern.window_end) == (NOW - HOUR, NOW)
    assert [link.issue_id for link in pattern.issues] == [issue.id]


def test_noise_is_not_a_spike(db_session: Session) -> None:
    issue = make_error(db_session)
    by_day = [10, 30, 12, 28, 15, 25, 18]
    seed_history(db_session, [issue], lambda hour: by_day[hour.day % 7])
    add_events(db_session, issue, last_hour(32))
    assert spikes(db_session) == []


def test_a_steady_high_rate_is_not_a_spike(db_session: Session) -> None:
    issue = make_error(db_session)
    seed_history(db_session, [issue], lambda hour: 1000)
    add_events(db_session, issue, last_hour(1100))
    assert [p.issue_id for p in spikes(db_session)] == []


def daily_peak(hour: dt.datetime) -> int:
    """200 events an hour in the early afternoon (lunch traffic), 10 otherwise."""
    return 200 if hour.hour in (13, 14) else 10


def test_a_daily_peak_is_normal_for_its_hour(db_session: Session) -> None:
    issue = make_error(db_session)
    seed_history(db_session, [issue], daily_peak)
    add_events(db_session, issue, last_hour(210))
    assert spikes(db_session) == []


def test_the_same_count_at_a_quiet_hour_is_a_spike(db_session: Session) -> None:
    night = NOW.replace(hour=3)
    issue = make_error(db_session)
    seed_history(db_session, [issue], daily_peak, now=night)
    add_events(db_session, issue, last_hour(210, now=night))
    [pattern] = spikes(db_session, now=night)
    assert pattern.description.endswith("210 events in the last hour, 21x its usual 10 for this hour")


def test_a_sudden_burst_shows_in_the_last_15_minutes(db_session: Session) -> None:
    issue = make_error(db_session)
    seed_history(db_session, [issue], lambda hour: 40)
    add_events(db_session, issue, spread(60, NOW - dt.timedelta(minutes=14), NOW))  # the hour's 60 is no spike
    [pattern] = spikes(db_session)
    assert "60 events in the last 15 minutes, 6x its usual 10 at this time of day" in pattern.description
    assert pattern.details["window_minutes"] == 15


def test_a_new_error_has_no_baseline_yet(db_session: Session) -> None:
    issue = make_error(db_session, since=NOW - 2 * DAY)
    add_events(db_session, issue, last_hour(300))
    assert spikes(db_session) == []


def test_a_service_wide_spike_of_many_small_errors(db_session: Session) -> None:
    project = make_project(db_session, name="search", created_at=LONG_AGO)
    issues = [make_issue(db_session, project, title=f"E{i}", first_seen=LONG_AGO) for i in range(10)]
    seed_history(db_session, issues[:1], lambda hour: 5)
    for issue in issues:
        add_events(db_session, issue, last_hour(8))  # each error alone is under the minimum

    [pattern] = spikes(db_session)
    assert (pattern.project_id, pattern.issue_id) == (project.id, None)
    assert pattern.description == "search (all errors): 80 events in the last hour, 16x its usual 5 for this hour"


def test_a_spike_is_updated_not_duplicated_and_ends_when_the_rate_falls(db_session: Session) -> None:
    issue = make_error(db_session)
    seed_history(db_session, [issue], lambda hour: 15)
    first_hour = last_hour(100)
    add_events(db_session, issue, first_hour)
    [first] = spikes(db_session)

    later = NOW + dt.timedelta(minutes=5)
    add_events(db_session, issue, spread(90, NOW, later))
    [again] = spikes(db_session, now=later)
    assert again.id == first.id and again.detected_at == NOW
    assert again.details is not None
    assert again.details["events"] == sum(1 for at in first_hour if at >= later - HOUR) + 90
    assert again.window_end == later

    assert spikes(db_session, now=NOW + 3 * HOUR) == []
    db_session.refresh(first)
    assert first.is_active is False
    assert len(db_session.scalars(select(Pattern).where(Pattern.kind == PatternKind.SPIKE)).all()) == 1
