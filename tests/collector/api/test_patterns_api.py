"""patterns/ through HTTP: active ones newest first, with the main error and the correlated ones."""

from __future__ import annotations

import datetime as dt

from db.enums import PatternKind, Severity
from db.models import Pattern, PatternIssue
from tests.collector.api.querycount import count_queries
from tests.db.factories import make_issue, make_project

T0 = dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC)


def seed(api) -> dict[str, int]:
    with api.collector.session() as session:
        shop, billing = make_project(session, "shop"), make_project(session, "billing")
        timeout = make_issue(session, shop, severity=Severity.CRITICAL, title="TimeoutError: db")
        card = make_issue(session, billing, title="CardDeclined")
        refund = make_issue(session, billing, title="RefundFailed")
        spike = Pattern(
            kind=PatternKind.SPIKE,
            project_id=shop.id,
            issue_id=timeout.id,
            description="12x the usual rate",
            score=12.0,
            details={"rate": 120, "baseline": 10},
            detected_at=T0 + dt.timedelta(hours=3),
        )
        old = Pattern(
            kind=PatternKind.REGRESSION,
            project_id=shop.id,
            issue_id=timeout.id,
            description="back in 1.4.2",
            is_active=False,
            detected_at=T0,
        )
        correlated = Pattern(
            kind=PatternKind.CORRELATED,
            project_id=billing.id,
            issue_id=card.id,
            description="CardDeclined and RefundFailed and TimeoutError happen in the same minutes",
            detected_at=T0 + dt.timedelta(hours=2),
            issues=[
                PatternIssue(issue_id=card.id),
                PatternIssue(issue_id=refund.id),
                PatternIssue(issue_id=timeout.id),
            ],
        )
        recurring = Pattern(
            kind=PatternKind.RECURRING,
            project_id=billing.id,
            issue_id=refund.id,
            description="seen on 5 days",
            detected_at=T0 + dt.timedelta(hours=1),
        )
        session.add_all([spike, old, correlated, recurring])
        session.commit()
        return {
            "shop": shop.id,
            "timeout": timeout.id,
            "card": card.id,
            "refund": refund.id,
            "spike": spike.id,
            "old": old.id,
            "correlated": correlated.id,
            "recurring": recurring.id,
        }


def test_active_patterns_newest_first_with_their_errors(api, viewer):
    ids = seed(api)
    response = viewer.get("/patterns/")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [p["id"] for p in items] == [ids["spike"], ids["correlated"], ids["recurring"]]
    spike, correlated, _ = items
    assert spike["service"] == "shop"
    assert (spike["error_id"], spike["error_title"], spike["error_severity"]) == (
        ids["timeout"],
        "TimeoutError: db",
        "critical",
    )
    assert spike["details"] == {"rate": 120, "baseline": 10}
    assert spike["correlated_error_ids"] == []
    assert correlated["error_title"] == "CardDeclined"
    assert correlated["correlated_error_ids"] == sorted([ids["refund"], ids["timeout"]])
    assert response.json()["next_cursor"] is None


def test_pattern_filters(api, viewer):
    ids = seed(api)

    def listed(**params) -> list[int]:
        response = viewer.get("/patterns/", params=params)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    assert listed(kind="spike,recurring") == [ids["spike"], ids["recurring"]]
    assert listed(kind=["regression"]) == []
    assert listed(kind="regression", include_inactive="true") == [ids["old"]]
    assert listed(project=ids["shop"]) == [ids["spike"]]
    assert listed(project=ids["shop"], include_inactive="true") == [ids["spike"], ids["old"]]
    # An error's patterns: where it is the main error and where it is one of the correlated.
    assert listed(error_id=ids["timeout"]) == [ids["spike"], ids["correlated"]]
    assert viewer.get("/patterns/", params={"error_id": 2**70}).status_code == 422
    bad = viewer.get("/patterns/", params={"kind": "wobble"})
    assert (bad.status_code, bad.json()["field"]) == (422, "query.kind.0")


def test_patterns_page_with_cursors(api, viewer):
    ids = seed(api)
    first = viewer.get("/patterns/", params={"limit": 2, "include_inactive": "true"}).json()
    assert [p["id"] for p in first["items"]] == [ids["spike"], ids["correlated"]]
    second = viewer.get(
        "/patterns/", params={"limit": 2, "include_inactive": "true", "cursor": first["next_cursor"]}
    ).json()
    assert [p["id"] for p in second["items"]] == [ids["recurring"], ids["old"]]
    assert second["next_cursor"] is None


def test_patterns_run_the_same_queries_however_many(api, viewer):
    seed(api)
    with count_queries(api) as few:
        assert viewer.get("/patterns/").status_code == 200
    with api.collector.session() as session:
        project = make_project(session)
        for i in range(10):
            issues = [make_issue(session, project) for _ in range(2)]
            session.add(
                Pattern(
                    kind=PatternKind.CORRELATED,
                    project_id=project.id,
                    issue_id=issues[0].id,
                    description=f"c{i}",
                    issues=[PatternIssue(issue_id=issue.id) for issue in issues],
                )
            )
        session.commit()
    with count_queries(api) as many:
        assert len(viewer.get("/patterns/").json()["items"]) == 13
    assert len(many) == len(few)
