"""Tag values counted in SQL: an event's tags win over its columns, only the newest events count, the top ten."""

from __future__ import annotations

import datetime as dt

from collector.api import tag_values
from collector.api.tag_values import tag_distribution
from tests.db.factories import make_event, make_issue, make_project

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _values(distributions):
    return {d.key: [(v.value, v.count) for v in d.values] for d in distributions}


def test_tags_win_over_the_columns_they_name(db_session):
    issue = make_issue(db_session, make_project(db_session))
    make_event(
        db_session, issue, received_at=NOW, environment="production", level="error", tags={"environment": "canary"}
    )
    make_event(db_session, issue, received_at=NOW, environment="production", release="1.0", tags=None)
    make_event(db_session, issue, received_at=NOW, environment="staging", tags={"browser": "Firefox", "os": "Linux"})
    distributions, sampled = tag_distribution(db_session, issue.id)
    assert sampled == 3
    assert _values(distributions) == {
        "browser": [("Firefox", 1)],
        "environment": [("canary", 1), ("production", 1), ("staging", 1)],
        "level": [("error", 1)],
        "os": [("Linux", 1)],
        "release": [("1.0", 1)],
    }
    assert [d.key for d in distributions] == sorted(d.key for d in distributions)
    assert {d.key: d.total for d in distributions}["environment"] == 3


def test_only_the_newest_events_count_and_the_ten_most_frequent_values_show(db_session, monkeypatch):
    monkeypatch.setattr(tag_values, "TAG_SAMPLE", 13)
    issue = make_issue(db_session, make_project(db_session))
    make_event(db_session, issue, received_at=NOW - dt.timedelta(hours=1), tags={"user": "old"})
    for n in range(12):
        make_event(db_session, issue, received_at=NOW + dt.timedelta(seconds=n), tags={"user": f"u{n:02d}"})
    make_event(db_session, issue, received_at=NOW + dt.timedelta(seconds=30), tags={"user": "u11"})
    other = make_issue(db_session, make_project(db_session))
    make_event(db_session, other, received_at=NOW, tags={"user": "u11"})

    distributions, sampled = tag_distribution(db_session, issue.id)
    assert sampled == 13
    (users,) = distributions
    assert users.total == 13
    # u11 twice first, then the ones by value; the oldest event ("old") fell out of the sample.
    assert [(v.value, v.count) for v in users.values] == [("u11", 2)] + [(f"u{n:02d}", 1) for n in range(9)]
    assert users.values[0].share == round(2 / 13, 4)


def test_an_issue_without_events_has_no_tags(db_session):
    issue = make_issue(db_session, make_project(db_session))
    assert tag_distribution(db_session, issue.id) == ([], 0)
