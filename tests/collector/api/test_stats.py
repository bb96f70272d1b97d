"""GET errors/stats/ over HTTP: counts, event buckets, top errors, MTTA and MTTR."""

from __future__ import annotations

import datetime as dt

import pytest

from db.enums import IssueStatus, Severity
from db.types import utcnow
from tests.collector.api.error_seed import epoch, parse_time
from tests.db.factories import make_event, make_issue, make_project


def _seed(session, now: dt.datetime):
    payments, search = make_project(session, "payments"), make_project(session, "search")
    ago = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731 - shorthand for the rows below
    hot = make_issue(session, payments, severity=Severity.CRITICAL, first_seen=ago(hours=3))
    warm = make_issue(
        session,
        search,
        severity=Severity.LOW,
        status=IssueStatus.ACKNOWLEDGED,
        first_seen=ago(hours=5),
        acknowledged_at=ago(hours=4, minutes=30),  # 30 minutes to acknowledge
    )
    fixed = make_issue(
        session,
        payments,
        severity=Severity.HIGH,
        status=IssueStatus.RESOLVED,
        first_seen=ago(hours=3),
        acknowledged_at=ago(hours=2),  # 1 hour to acknowledge
        resolved_at=ago(hours=1),  # 2 hours to resolve
    )
    long_ago = make_issue(
        session,
        search,
        severity=Severity.MEDIUM,
        status=IssueStatus.RESOLVED,
        first_seen=ago(days=10),
        acknowledged_at=ago(days=3),
        resolved_at=ago(days=2),
    )
    received = {
        hot.id: [ago(minutes=m) for m in (1, 2, 3, 61, 62)],
        warm.id: [ago(minutes=m) for m in (5, 300, 600)],
        fixed.id: [ago(hours=2)],
        long_ago.id: [ago(days=2, minutes=m) for m in range(8)],
    }
    issues = {issue.id: issue for issue in (hot, warm, fixed, long_ago)}
    for issue_id, times in received.items():
        for at in times:
            make_event(session, issues[issue_id], received_at=at)
    session.commit()
    return hot, warm, fixed, long_ago, received


def test_stats_over_a_day_by_hour(api, viewer):
    now = utcnow().replace(microsecond=0)
    with api.collector.session() as session:
        hot, warm, fixed, _, received = _seed(session, now)
    body = viewer.get("/errors/stats/").json()
    assert (body["window"], body["interval"]) == ("24h", "hour")
    assert body["by_status"] == {"unresolved": 1, "acknowledged": 1, "resolved": 2, "ignored": 0}
    assert body["by_severity"] == {"critical": 1, "high": 0, "medium": 0, "low": 1}
    assert body["by_service"] == [
        {"project_id": hot.project_id, "service": "payments", "open_errors": 1, "events": 6},
        {"project_id": warm.project_id, "service": "search", "open_errors": 1, "events": 3},
    ]
    assert body["total_events"] == 9

    events = body["events"]
    assert events["interval_seconds"] == 3600 and len(events["counts"]) == 24
    start = epoch(parse_time(events["start"]))
    expected = [0] * 24
    by_severity = {s.value: [0] * 24 for s in Severity}
    severity_of = {hot.id: "critical", warm.id: "low", fixed.id: "high"}
    for issue_id, times in received.items():
        for at in times:
            index = (epoch(at) - start) // 3600
            if 0 <= index < 24:
                expected[index] += 1
                by_severity[severity_of[issue_id]][index] += 1
    assert events["counts"] == expected
    assert body["events_by_severity"] == by_severity

    top = [(entry["error"]["id"], entry["events"]) for entry in body["top_errors"]]
    assert top == [(hot.id, 5), (warm.id, 3), (fixed.id, 1)]
    assert body["mtta_seconds"] == pytest.approx((1800 + 3600) / 2)
    assert body["acknowledged"] == 2
    assert body["mttr_seconds"] == pytest.approx(7200)
    assert body["resolved"] == 1


def test_stats_windows_and_intervals(api, viewer):
    now = utcnow().replace(microsecond=0)
    with api.collector.session() as session:
        hot, *_ = _seed(session, now)
    hour = viewer.get("/errors/stats/", params={"window": "1h", "top": 1}).json()
    assert hour["interval"] == "minute" and len(hour["events"]["counts"]) == 60
    assert hour["total_events"] == 4  # 1, 2, 3 and 5 minutes ago
    assert [entry["error"]["id"] for entry in hour["top_errors"]] == [hot.id]
    month = viewer.get("/errors/stats/", params={"window": "30d"}).json()
    assert month["interval"] == "day" and len(month["events"]["counts"]) == 30
    assert month["total_events"] == 17
    assert month["mttr_seconds"] == pytest.approx((7200 + 8 * 86400) / 2)
    week = viewer.get("/errors/stats/", params={"window": "7d", "interval": "day"}).json()
    assert len(week["events"]["counts"]) == 7


def test_stats_over_a_week_by_hour_count_each_service_and_event_once(api, viewer):
    # The series reads the per-severity hours; the services read whole days, and hours before the first midnight.
    now = utcnow().replace(microsecond=0)
    this_hour = now.replace(minute=0, second=0)
    start = this_hour - dt.timedelta(hours=167)
    just_now = max(this_hour, now - dt.timedelta(minutes=1))  # in the last bucket, also in an hour's first minute
    with api.collector.session() as session:
        payments, search = make_project(session, "payments"), make_project(session, "search")
        loud = make_issue(session, payments, severity=Severity.HIGH, first_seen=start - dt.timedelta(hours=1))
        quiet = make_issue(session, search, severity=Severity.LOW, first_seen=start)
        for issue, at in [
            (loud, start - dt.timedelta(seconds=1)),  # before the window
            (loud, start),
            (loud, start + dt.timedelta(minutes=30)),
            (quiet, now - dt.timedelta(days=2)),
            (quiet, just_now),
            (loud, just_now),
        ]:
            make_event(session, issue, received_at=at)
        session.commit()
    body = viewer.get("/errors/stats/", params={"window": "7d"}).json()
    assert body["interval"] == "hour" and len(body["events"]["counts"]) == 168
    assert parse_time(body["start"]) == start
    assert body["total_events"] == 5
    assert [(s["service"], s["events"]) for s in body["by_service"]] == [("payments", 3), ("search", 2)]
    by_severity = body["events_by_severity"]
    assert (sum(by_severity["high"]), sum(by_severity["low"])) == (3, 2)
    assert by_severity["high"][0] == 2 and by_severity["high"][-1] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"window": "30d", "interval": "minute"}, "query.interval"),
        ({"window": "1h", "interval": "day"}, "query.interval"),
        ({"window": "2y"}, "query.window"),
        ({"top": "0"}, "query.top"),
    ],
)
def test_bad_stats_requests(viewer, params, field):
    response = viewer.get("/errors/stats/", params=params)
    assert response.status_code in (400, 422)
    assert response.json()["field"] == field


def test_stats_of_an_empty_database(viewer):
    body = viewer.get("/errors/stats/").json()
    assert body["total_events"] == 0
    assert body["top_errors"] == []
    assert body["mtta_seconds"] is None and body["mttr_seconds"] is None
    assert body["by_service"] == []
