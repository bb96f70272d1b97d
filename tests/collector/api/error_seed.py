"""A small, varied set of errors (3 services, 2 developers, every status) that the read-side API tests search."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session

from db.enums import IssueStatus, IssueSubstatus, Severity
from tests.db.factories import make_developer, make_issue, make_project

U, A, R, IGN = IssueStatus.UNRESOLVED, IssueStatus.ACKNOWLEDGED, IssueStatus.RESOLVED, IssueStatus.IGNORED
CRIT, HIGH, MED, LOW = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
OLD_FIRST_SEEN = dt.datetime(2025, 10, 1, 8, 0, tzinfo=dt.UTC)
OLD_LAST_SEEN = dt.datetime(2025, 11, 2, 9, 30, tzinfo=dt.UTC)


@dataclass
class Seeded:
    ids: dict[str, int]  # error name -> id
    developers: dict[str, int]  # alice, bob -> id
    projects: dict[str, int]  # service name -> id

    def names(self, ids: list[int]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id.get(i, f"?{i}") for i in ids]


def seed_errors(session: Session, now: dt.datetime) -> Seeded:
    """Ten errors; `now` anchors the relative times (the server's clock runs a little later, never earlier)."""
    projects = {name: make_project(session, name) for name in ("payments", "checkout", "search")}
    alice = make_developer(session, "Alice", email="alice@example.com")
    bob = make_developer(session, "Bob", email="bob@example.com")
    ago = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731 - a local shorthand keeps the table readable
    rows = {
        "pay_timeout": dict(
            project="payments", severity=CRIT, status=U, substatus=IssueSubstatus.NEW, level="fatal",
            title="TimeoutError: upstream timed out", culprit="payments.gateway in charge",
            exception_type="TimeoutError",
            assignee_id=alice.id, first_release="1.4.2", last_release="1.4.2", last_environment="production",
            times_seen=150, users_affected=12, first_seen=ago(hours=2), last_seen=ago(minutes=5),
        ),
        "pay_decline": dict(
            project="payments", severity=HIGH, status=A, substatus=IssueSubstatus.ONGOING, level="error",
            title="CardDeclined: card declined", culprit="payments.cards", exception_type="CardDeclined",
            assignee_id=bob.id, first_release="1.4.1", last_release="1.4.2", last_environment="production",
            times_seen=40, users_affected=30, first_seen=ago(days=3), last_seen=ago(minutes=90),
            acknowledged_at=ago(minutes=30), acknowledged_by="bob-token",
        ),
        "pay_resolved": dict(
            project="payments", severity=MED, status=R, substatus=None, level="error",
            title="KeyError: 'amount'", culprit="payments.refunds", exception_type="KeyError",
            first_release="1.3.0", last_release="1.3.0", last_environment="staging",
            times_seen=5, users_affected=1, first_seen=ago(days=10), last_seen=ago(days=2), resolved_at=ago(days=1),
        ),
        "co_regressed": dict(
            project="checkout", severity=CRIT, status=U, substatus=IssueSubstatus.REGRESSED, level="fatal",
            title="DatabaseError: connection refused", culprit="checkout.db", exception_type="DatabaseError",
            assignee_id=alice.id, first_release="2.0.0", last_release="2.1.0", last_environment="production",
            times_seen=500, users_affected=200, first_seen=ago(days=30), last_seen=ago(minutes=1),
            is_regression=True, escalation_level=1,
        ),
        "co_ignored": dict(
            project="checkout", severity=LOW, status=IGN, substatus=None, level="warning",
            title="DeprecationWarning: old api", culprit="checkout.legacy", exception_type="DeprecationWarning",
            first_release="2.1.0", last_release="2.1.0", last_environment="production",
            times_seen=1000, users_affected=3, first_seen=ago(days=20), last_seen=ago(minutes=10),
        ),
        "co_snoozed": dict(
            project="checkout", severity=MED, status=IGN, substatus=None, level="error",
            title="TimeoutError: cart service slow", culprit="checkout.cart", exception_type="TimeoutError",
            assignee_id=bob.id, first_release="2.1.0", last_release="2.1.0", last_environment="staging",
            times_seen=20, users_affected=5, first_seen=ago(days=5), last_seen=ago(hours=6),
            snooze_until=now + dt.timedelta(days=1),
        ),
        "search_new": dict(
            project="search", severity=HIGH, status=U, substatus=IssueSubstatus.NEW, level="error",
            title="IndexError: list index out of range", culprit="search.rank", exception_type="IndexError",
            last_environment="production", times_seen=1, users_affected=0,
            first_seen=ago(minutes=20), last_seen=ago(minutes=20),
        ),
        "search_escalating": dict(
            project="search", severity=MED, status=U, substatus=IssueSubstatus.ESCALATING, level="error",
            title="ValueError: bad query 50%_off", culprit="search.parse", exception_type="ValueError",
            assignee_id=bob.id, first_release="0.9.0", last_release="0.9.0", last_environment="production",
            times_seen=101, users_affected=11, first_seen=ago(days=8), last_seen=ago(minutes=30),
        ),
        "search_ack": dict(
            project="search", severity=LOW, status=A, substatus=IssueSubstatus.ONGOING, level="warning",
            title="UserWarning: slow index", culprit=None, exception_type="UserWarning",
            assignee_id=alice.id, last_environment=None,
            times_seen=2, users_affected=0, first_seen=ago(days=2), last_seen=ago(hours=3),
            acknowledged_at=ago(hours=1), acknowledged_by="alice-token",
        ),
        "pay_old": dict(
            project="payments", severity=CRIT, status=R, substatus=None, level="error",
            title="ZeroDivisionError: division by zero", culprit="payments.fees", exception_type="ZeroDivisionError",
            assignee_id=bob.id, first_release="1.0.0", last_release="1.2.0", last_environment="production",
            times_seen=100, users_affected=10, first_seen=OLD_FIRST_SEEN, last_seen=OLD_LAST_SEEN,
            resolved_at=OLD_LAST_SEEN, resolved_in_release="1.4.2",
        ),
    }  # fmt: skip
    ids = {}
    for name, fields in rows.items():
        project = projects[str(fields.pop("project"))]
        substatus = fields.pop("substatus")
        issue = make_issue(session, project, **fields)  # type: ignore[arg-type]
        issue.substatus = substatus  # after the insert: an explicit None at insert gets the column default
        ids[name] = issue.id
    session.commit()
    return Seeded(
        ids=ids,
        developers={"alice": alice.id, "bob": bob.id},
        projects={name: p.id for name, p in projects.items()},
    )


def client_with(api: object, token: str) -> httpx.Client:
    """A client under /api/error-logging sending `token` (e.g. one tied to a developer, for "me")."""
    url = api.collector.url  # type: ignore[attr-defined]
    return httpx.Client(base_url=f"{url}/api/error-logging", headers={"Authorization": f"Bearer {token}"}, timeout=20)


def epoch(at: dt.datetime) -> int:
    return int(at.timestamp())


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
