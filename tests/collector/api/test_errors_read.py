"""GET errors/, errors/critical/ and errors/counts/ over HTTP: filters, sorts, cursors, live refresh, sparklines,
and a constant number of SQL statements per request."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from collector.api.pagination import encode_cursor
from db.audit import record
from db.enums import Role, Severity
from db.issue_state import acknowledge
from db.models import Comment, Escalation, Issue, Notification
from db.types import utcnow
from tests.collector.api.error_seed import client_with, epoch, parse_time, seed_errors
from tests.collector.api.querycount import count_queries
from tests.db.factories import make_developer, make_event, make_issue, make_project

ENDPOINTS = [
    "/errors/",
    "/errors/critical/",
    "/errors/counts/",
    "/errors/stats/",
    "/errors/1/",
    "/errors/1/events/",
    f"/events/{'a' * 32}/",
]


def _names(seeded, body) -> list[str]:
    return sorted(seeded.names([item["id"] for item in body["items"]]))


def _ids(body) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_every_read_endpoint_needs_a_token(api):
    with api.as_role(None) as client:
        for path in ENDPOINTS:
            assert client.get(path).status_code == 401, path


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "acknowledged"}, {"pay_decline", "search_ack"}),
        ({"status": "unresolved"}, {"pay_timeout", "co_regressed", "search_new", "search_escalating"}),
        ({"status": ["resolved", "ignored"]}, {"pay_resolved", "pay_old", "co_ignored", "co_snoozed"}),
        ({"severity": "critical,low"}, {"pay_timeout", "co_regressed", "pay_old", "co_ignored", "search_ack"}),
        ({"service": "search"}, {"search_new", "search_escalating", "search_ack"}),
        ({"project": "checkout"}, {"co_regressed", "co_ignored", "co_snoozed"}),
        ({"environment": "staging"}, {"pay_resolved", "co_snoozed"}),
        ({"release": "2.0.0"}, {"co_regressed"}),
        ({"assignee": "none"}, {"pay_resolved", "co_ignored", "search_new"}),
        ({"assignee": "me"}, {"pay_timeout", "co_regressed", "search_ack"}),
        ({"assignee": "bob@example.com"}, {"pay_decline", "co_snoozed", "search_escalating", "pay_old"}),
        ({"text": "timeout"}, {"pay_timeout", "co_snoozed"}),
        ({"status": "unresolved", "q": "level:critical"}, {"pay_timeout", "co_regressed"}),
    ],
)
def test_filters_as_query_parameters(api, params, expected):
    with api.collector.session() as session:
        seeded = seed_errors(session, utcnow())
    me = api.token("alice-viewer", Role.VIEWER, developer_id=seeded.developers["alice"])
    with client_with(api, me) as client:
        response = client.get("/errors/", params=params)
    assert response.status_code == 200, response.text
    assert _names(seeded, response.json()) == sorted(expected)


def test_time_window_and_project_id_parameters(api, viewer):
    now = utcnow()
    with api.collector.session() as session:
        seeded = seed_errors(session, now)
    window = {
        "first_seen_after": (now - dt.timedelta(days=4)).isoformat(),
        "first_seen_before": (now - dt.timedelta(hours=1)).isoformat(),
    }
    assert _names(seeded, viewer.get("/errors/", params=window).json()) == ["pay_decline", "pay_timeout", "search_ack"]
    recent = {"last_seen_after": (now - dt.timedelta(minutes=15)).isoformat(), "last_seen_before": now.isoformat()}
    assert _names(seeded, viewer.get("/errors/", params=recent).json()) == ["co_ignored", "co_regressed", "pay_timeout"]
    before = {"last_seen_before": "2025-12-01T00:00:00Z", "project_id": seeded.projects["payments"]}
    assert _names(seeded, viewer.get("/errors/", params=before).json()) == ["pay_old"]
    naive = viewer.get("/errors/", params={"last_seen_before": "2025-12-01T00:00:00"})
    assert (naive.status_code, naive.json()["field"]) == (422, "query.last_seen_before")


def test_bad_parameters_are_refused(viewer):
    assert viewer.get("/errors/", params={"status": "sleeping"}).json()["field"] == "query.status.0"
    assert viewer.get("/errors/", params={"sort": "colour"}).json()["field"] == "query.sort"
    assert viewer.get("/errors/", params={"assignee": "someone"}).json()["field"] == "query.assignee.0"
    assert viewer.get("/errors/", params={"changed_since": "yesterday"}).status_code == 422
    assert viewer.get("/errors/", params={"project_id": str(2**40)}).status_code == 422
    assert viewer.get("/errors/", params={"include": "everything"}).status_code == 422


def _seed_for_sorting(session, now: dt.datetime) -> list[int]:
    """23 errors with many ties in every sort key, so only the id tie-break keeps pages apart."""
    projects = [make_project(session, f"svc-{i}") for i in range(3)]
    ids = []
    for n in range(23):
        issue = make_issue(
            session,
            projects[n % 3],
            severity=list(Severity)[n % 4],
            last_seen=now - dt.timedelta(minutes=n % 5),
            first_seen=now - dt.timedelta(days=n % 3),
            times_seen=n % 4,
            users_affected=n % 6,
            impact_score=float(n % 3) / 2,
        )
        ids.append(issue.id)
    session.commit()
    return ids


def _expected_order(session, ids: list[int], sort: str, descending: bool) -> list[int]:
    issues = session.scalars(select(Issue).where(Issue.id.in_(ids))).all()
    keys = {
        "last_seen": lambda i: (i.last_seen, i.id),
        "first_seen": lambda i: (i.first_seen, i.id),
        "count": lambda i: (i.times_seen, i.id),
        "users": lambda i: (i.users_affected, i.id),
        "impact": lambda i: (i.impact_score, i.id),
        "severity": lambda i: (-Severity(i.severity).rank, i.last_seen, i.id),
    }
    return [i.id for i in sorted(issues, key=keys[sort], reverse=descending)]


@pytest.mark.parametrize("sort", ["last_seen", "first_seen", "count", "users", "severity", "impact"])
def test_sorts_page_by_cursor_without_gaps_or_repeats(api, viewer, sort):
    with api.collector.session() as session:
        ids = _seed_for_sorting(session, utcnow())
        for order in ("desc", "asc"):
            expected = _expected_order(session, ids, sort, order == "desc")
            seen: list[int] = []
            cursor = None
            for _ in range(10):
                params = {"sort": sort, "order": order, "limit": 4, **({"cursor": cursor} if cursor else {})}
                body = viewer.get("/errors/", params=params).json()
                seen += _ids(body)
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert seen == expected, (sort, order)


def test_the_queue_order_is_most_severe_then_most_recent(api, viewer):
    now = utcnow()
    with api.collector.session() as session:
        project = make_project(session)
        old_critical = make_issue(session, project, severity=Severity.CRITICAL, last_seen=now - dt.timedelta(days=1))
        new_low = make_issue(session, project, severity=Severity.LOW, last_seen=now)
        new_critical = make_issue(session, project, severity=Severity.CRITICAL, last_seen=now)
        medium = make_issue(session, project, severity=Severity.MEDIUM, last_seen=now)
        session.commit()
    body = viewer.get("/errors/", params={"sort": "severity"}).json()
    assert _ids(body) == [new_critical.id, old_critical.id, medium.id, new_low.id]


def test_a_cursor_only_fits_its_own_sort(api, viewer):
    with api.collector.session() as session:
        _seed_for_sorting(session, utcnow())
    cursor = viewer.get("/errors/", params={"sort": "count", "limit": 2}).json()["next_cursor"]
    response = viewer.get("/errors/", params={"sort": "users", "limit": 2, "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["field"] == "query.cursor"
    assert viewer.get("/errors/", params={"cursor": "garbage"}).status_code == 400


@pytest.mark.parametrize(
    "values",
    [
        ["count:desc", True, 1],
        ["count:desc", 2**70, 1],
        ["impact:desc", 1e308 * 10, 1],
        ["last_seen:desc", "0001-01-01T00:00:00+14:00", 1],
        ["last_seen:desc", None, 1],
    ],
)
def test_a_forged_cursor_is_400_not_a_crash(viewer, values):
    sort = values[0].split(":")[0]
    response = viewer.get("/errors/", params={"sort": sort, "cursor": encode_cursor(values)})
    assert response.status_code == 400
    assert response.json()["field"] == "query.cursor"


def test_changed_since_returns_what_changed_after_it(api, viewer, responder):
    now = utcnow()
    with api.collector.session() as session:
        project = make_project(session)
        stale = make_issue(session, project, updated_at=now - dt.timedelta(hours=2))
        fresh = make_issue(session, project, updated_at=now - dt.timedelta(minutes=1))
        by_collector = make_issue(session, project, updated_at=now - dt.timedelta(hours=3))
        by_api = make_issue(session, project, updated_at=now - dt.timedelta(hours=3))
        session.commit()
    since = (now - dt.timedelta(minutes=30)).isoformat()
    first = viewer.get("/errors/", params={"changed_since": since}).json()
    assert _ids(first) == [fresh.id]
    assert parse_time(first["server_time"]) >= now
    with api.collector.session() as session:
        acknowledge(session.get(Issue, by_collector.id), by="cli", now=utcnow())  # the ORM bumps updated_at
        session.commit()
    assert responder.post(f"/errors/{by_api.id}/acknowledge/").status_code == 200
    later = viewer.get("/errors/", params={"changed_since": since}).json()
    assert sorted(_ids(later)) == sorted([fresh.id, by_collector.id, by_api.id])
    assert stale.id not in _ids(later)


def test_sparklines_count_events_per_hour(api, viewer):
    now = utcnow()
    with api.collector.session() as session:
        project = make_project(session)
        busy = make_issue(session, project, last_seen=now)
        quiet = make_issue(session, project, last_seen=now - dt.timedelta(minutes=1))
        times = [now - dt.timedelta(minutes=m) for m in (1, 2, 70, 300, 60 * 22 + 30, 60 * 30)]
        for at in times:
            make_event(session, busy, received_at=at)
        session.commit()
    body = viewer.get("/errors/", params={"include": "sparkline"}).json()
    rows = {item["id"]: item for item in body["items"]}
    last_hour = epoch(parse_time(body["server_time"])) // 3600
    expected = [0] * 24
    for at in times:
        index = 23 - (last_hour - epoch(at) // 3600)
        if index >= 0:
            expected[index] += 1
    assert rows[busy.id]["sparkline"] == expected
    assert sum(expected) == 5  # the event of 30 hours ago is outside
    assert rows[quiet.id]["sparkline"] == [0] * 24
    assert all(item["sparkline"] is None for item in viewer.get("/errors/").json()["items"])


def test_critical_lists_open_critical_errors(api, viewer):
    with api.collector.session() as session:
        seeded = seed_errors(session, utcnow())
    body = viewer.get("/errors/critical/").json()
    assert _names(seeded, body) == ["co_regressed", "pay_timeout"]
    assert _ids(body) == [seeded.ids["co_regressed"], seeded.ids["pay_timeout"]]  # most recent first
    assert _names(seeded, viewer.get("/errors/critical/", params={"service": "payments"}).json()) == ["pay_timeout"]
    page = viewer.get("/errors/critical/", params={"limit": 1, "include": "sparkline"}).json()
    assert len(page["items"]) == 1 and len(page["items"][0]["sparkline"]) == 24
    rest = viewer.get("/errors/critical/", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert _ids(rest) == [seeded.ids["pay_timeout"]]
    assert rest["next_cursor"] is None


def test_counts_by_status_and_severity(api, viewer):
    with api.collector.session() as session:
        seed_errors(session, utcnow())
    body = viewer.get("/errors/counts/").json()
    assert body["total"] == 10
    assert body["by_status"] == {"unresolved": 4, "acknowledged": 2, "resolved": 2, "ignored": 2}
    assert body["open"] == 6
    assert body["unacknowledged"] == 4
    assert body["by_severity"] == {"critical": 2, "high": 2, "medium": 1, "low": 1}
    assert body["unacknowledged_by_severity"] == {"critical": 2, "high": 1, "medium": 1, "low": 0}
    payments = viewer.get("/errors/counts/", params={"q": "service:payments"}).json()
    assert payments["total"] == 4
    assert payments["unacknowledged"] == 1
    assert viewer.get("/errors/counts/", params={"q": "nope:x"}).json()["field"] == "query.q"


# --- no N+1: the statements a request runs do not grow with the rows it returns ---------------------------------


def _seed_rich(session, errors: int, per_error: int) -> list[int]:
    """`errors` errors, each with `per_error` events, comments, notifications, escalations and audit rows."""
    projects = [make_project(session) for _ in range(3)]
    developers = [make_developer(session) for _ in range(2)]
    now = utcnow()
    ids = []
    for n in range(errors):
        issue = make_issue(session, projects[n % 3], assignee_id=developers[n % 2].id, last_seen=now)
        ids.append(issue.id)
        for k in range(per_error):
            make_event(session, issue, received_at=now - dt.timedelta(hours=k), tags={"k": str(k)}, payload={"n": k})
            session.add(Comment(issue_id=issue.id, author="alice", body=f"note {k}"))
            session.add(
                Notification(
                    idempotency_key=uuid.uuid4().hex,
                    issue_id=issue.id,
                    developer_id=developers[k % 2].id,
                    channel="email",
                    target="dev@example.com",
                    trigger="new",
                )
            )
            session.add(
                Escalation(
                    issue_id=issue.id,
                    level=k + 1,
                    from_developer_id=developers[0].id,
                    to_developer_id=developers[1].id,
                    reason="no ack",
                )
            )
            record(session, actor="cli", action="error.assign", target_type="error", target_id=issue.id)
    session.commit()
    return ids


def test_listing_and_detail_run_a_constant_number_of_statements(api, viewer):
    with api.collector.session() as session:
        small = _seed_rich(session, errors=5, per_error=1)
        large = _seed_rich(session, errors=50, per_error=12)
    assert viewer.get("/errors/").status_code == 200  # the token's last use is written once, before counting

    with count_queries(api) as none:
        assert viewer.get("/errors/", params={"include": "sparkline", "q": "service:none-such"}).json()["items"] == []
    with count_queries(api) as five:
        body = viewer.get("/errors/", params={"include": "sparkline", "limit": 5}).json()
    assert len(body["items"]) == 5
    with count_queries(api) as fifty:
        body = viewer.get("/errors/", params={"include": "sparkline", "limit": 50}).json()
    assert len(body["items"]) == 50 and all(item["assignee"] for item in body["items"])
    # The token, the page (project and assignee joined in), the sparklines of the whole page in one grouped query.
    assert len(fifty) == len(five) == 3, fifty
    assert len(none) == 2  # no rows, no sparkline query

    with count_queries(api) as simple:
        assert viewer.get(f"/errors/{small[0]}/").status_code == 200
    with count_queries(api) as rich:
        detail = viewer.get(f"/errors/{large[0]}/").json()
    assert len(detail["timeline"]) == 1 + 4 * 12
    # The token, the error, its latest event, the tag sample, the histograms, 4 timeline sources, the escalation
    # chain's next step.
    assert len(rich) == len(simple) == 10, rich

    with count_queries(api) as stats:
        assert viewer.get("/errors/stats/").status_code == 200
    # The token, errors by status/severity/service, events by bucket/severity/service, the services, the top errors
    # in two rounds (55 errors of one event an hour are too flat for the first round's 16 counts per hour to settle a
    # top ten: db/top_issues.py) and their rows, MTTA/MTTR.
    assert len(stats) == 8, stats


def test_error_ids_beyond_any_stored_id_are_404(viewer):
    assert viewer.get(f"/errors/{2**70}/").status_code == 404
    assert viewer.get(f"/errors/{2**70}/events/").status_code == 404
