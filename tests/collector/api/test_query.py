"""The error search syntax: the parser on its own, then a table of searches and the errors each must return."""

from __future__ import annotations

import datetime as dt

import pytest

from db.enums import Role, Severity
from db.issue_query import QueryError, parse
from db.issue_query_terms import (
    AssigneeTerm,
    HasTerm,
    NumberTerm,
    SeverityTerm,
    State,
    StateTerm,
    TextTerm,
    TimeTerm,
    ValueTerm,
)
from db.types import utcnow
from tests.collector.api.error_seed import client_with, seed_errors

# --- the parser --------------------------------------------------------------------------------------------------


def test_terms_of_a_combined_search():
    search = 'is:unresolved level:critical service:payments assigned:me !assigned release:1.4.2 env:prod "time out"'
    terms = parse(search)
    assert terms[0] == StateTerm(token="is:unresolved", position=0, states=(State.UNRESOLVED,))
    assert terms[1] == SeverityTerm(token="level:critical", position=14, severities=(Severity.CRITICAL,))
    assert terms[2] == ValueTerm(token="service:payments", position=29, field="service", values=("payments",))
    assert terms[3] == AssigneeTerm(token="assigned:me", position=46, values=("me",))
    assert terms[4] == HasTerm(token="!assigned", position=58, negated=True, fields=("assignee",))
    assert terms[5] == ValueTerm(token="release:1.4.2", position=68, field="release", values=("1.4.2",))
    assert terms[6] == ValueTerm(token="env:prod", position=82, field="environment", values=("prod",))
    assert terms[7] == TextTerm(token='"time out"', position=91, text="time out")


def test_synonyms_lists_negation_and_quoted_values():
    severity, service, negated, quoted = parse('severity:Critical,high project:a,"b c" !is:resolved release:"1.0 beta"')
    assert severity.severities == (Severity.CRITICAL, Severity.HIGH)
    assert service == ValueTerm(token='project:a,"b c"', position=23, field="service", values=("a", "b c"))
    assert negated.negated and negated.states == (State.RESOLVED,)
    assert quoted.values == ("1.0 beta",)


def test_level_takes_sentry_levels_too():
    (term,) = parse("level:fatal,high")
    assert term == SeverityTerm(token="level:fatal,high", position=0, severities=(Severity.HIGH,), levels=("fatal",))


def test_state_aliases():
    assert parse("is:archived")[0].states == (State.IGNORED,)
    assert parse("IS:Unassigned")[0].states == (State.UNASSIGNED,)


def test_assignees():
    (term,) = parse("assigned:me,none,42,Bob@Example.com")
    assert term.values == ("me", "none", 42, "bob@example.com")


def test_relative_and_absolute_times():
    within, older, after_, on_day, after_ago = parse(
        "first_seen:-24h age:+7d last_seen:>2026-11-01T10:00:00+01:00 lastSeen:2026-11-01 last_seen:>-30m"
    )
    assert (within.op, within.ago) == (">=", dt.timedelta(hours=24))
    assert (older.field, older.op, older.ago) == ("first_seen", "<", dt.timedelta(days=7))
    assert (after_.op, after_.at) == (">", dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC))
    assert (on_day.op, on_day.at) == ("=", dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert (after_ago.op, after_ago.ago) == (">", dt.timedelta(minutes=30))
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    assert within.instant(now) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert isinstance(within, TimeTerm)


def test_counts():
    more, exact, at_most = parse("times_seen:>100 timesSeen:7 users:<=10")
    assert more == NumberTerm(token="times_seen:>100", position=0, field="times_seen", op=">", value=100)
    assert (exact.op, exact.value) == ("=", 7)
    assert (at_most.field, at_most.op, at_most.value) == ("users", "<=", 10)


def test_free_text_words_phrases_and_escapes():
    word, phrase, negated = parse(r'timeout "say \"hi\"" !flaky')
    assert word.text == "timeout"
    assert phrase.text == 'say "hi"'
    assert negated == TextTerm(token="!flaky", position=21, negated=True, text="flaky")


def test_an_empty_search_has_no_terms():
    assert parse("   ") == ()


@pytest.mark.parametrize(
    ("query", "position", "token", "reason"),
    [
        ("lvl:critical", 0, "lvl:critical", "unknown key 'lvl'"),
        ("is:unresolved level:urgent", 14, "level:urgent", "unknown level 'urgent'"),
        ("is:sleeping", 0, "is:sleeping", "unknown state 'sleeping'"),
        ("times_seen:>lots", 0, "times_seen:>lots", "is not a count"),
        ("first_seen:yesterday", 0, "first_seen:yesterday", "is not a time"),
        ("last_seen:2026-11-01T10:00", 0, "last_seen:2026-11-01T10:00", "put >, >=, < or <= before a time"),
        ("last_seen:>+2h", 0, "last_seen:>+2h", "write >-2h"),
        ("first_seen:-99999w", 0, "first_seen:-99999w", "further than errlog keeps"),
        ('ok "unterminated', 3, '"unterminated', "unterminated quote"),
        ("assigned:someone", 0, "assigned:someone", "not me, none, a developer id or an e-mail"),
        ("assigned:99999999999", 0, "assigned:99999999999", "no developer can have id"),
        ("level:critical,", 0, "level:critical,", "empty value"),
        ("first_seen:-24h,-2h", 0, "first_seen:-24h,-2h", "one value"),
        ("x !", 2, "!", "must be followed by a term"),
        ("has:owner", 0, "has:owner", "cannot test for 'owner'"),
        ("see http://example.com", 4, "http://example.com", "unknown key 'http'"),
        ('service:"a"b', 0, 'service:"a"b', "expected a space after the closing quote"),
        ("env:", 0, "env:", "empty value"),
    ],
)
def test_bad_searches_name_the_token(query, position, token, reason):
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert (caught.value.position, caught.value.token) == (position, token)
    assert reason in caught.value.reason
    assert f"position {position}" in str(caught.value)


# --- searches over HTTP ------------------------------------------------------------------------------------------

ASSIGNED = {"pay_timeout", "pay_decline", "co_regressed", "co_snoozed", "search_escalating", "search_ack", "pay_old"}
UNASSIGNED = {"pay_resolved", "co_ignored", "search_new"}
OPEN = {"pay_timeout", "pay_decline", "co_regressed", "search_new", "search_escalating", "search_ack"}
ALL = ASSIGNED | UNASSIGNED
MINE = {"pay_timeout", "co_regressed", "search_ack"}
BOBS = {"pay_decline", "co_snoozed", "search_escalating", "pay_old"}
PAYMENTS = {"pay_timeout", "pay_decline", "pay_resolved", "pay_old"}
SEARCH = {"search_new", "search_escalating", "search_ack"}

TABLE: list[tuple[str, set[str]]] = [
    ("", ALL),
    ("is:unresolved", OPEN),
    ("is:unacknowledged", {"pay_timeout", "co_regressed", "search_new", "search_escalating"}),
    ("is:acknowledged", {"pay_decline", "search_ack"}),
    ("is:resolved", {"pay_resolved", "pay_old"}),
    ("is:ignored", {"co_ignored", "co_snoozed"}),
    ("is:archived", {"co_ignored", "co_snoozed"}),
    ("is:snoozed", {"co_snoozed"}),
    ("is:new", {"pay_timeout", "search_new"}),
    ("is:ongoing", {"pay_decline", "search_ack"}),
    ("is:regressed", {"co_regressed"}),
    ("is:escalating", {"search_escalating"}),
    ("is:escalated", {"co_regressed"}),
    ("is:assigned", ASSIGNED),
    ("is:unassigned", UNASSIGNED),
    ("is:ignored,resolved", {"co_ignored", "co_snoozed", "pay_resolved", "pay_old"}),
    ("!is:unresolved", ALL - OPEN),
    ("!assigned", UNASSIGNED),
    ("has:assignee", ASSIGNED),
    ("!has:assignee", UNASSIGNED),
    ("has:environment", ALL - {"search_ack"}),
    ("assigned:none", UNASSIGNED),
    ("assigned:me", MINE),
    ("!assigned:me", ALL - MINE),
    ("assigned:me,none", MINE | UNASSIGNED),
    ("assigned:bob@example.com", BOBS),
    ("assignee:BOB@EXAMPLE.COM", BOBS),
    ("assigned:nobody@example.com", set()),
    ("level:critical", {"pay_timeout", "co_regressed", "pay_old"}),
    ("severity:critical,high", {"pay_timeout", "co_regressed", "pay_old", "pay_decline", "search_new"}),
    ("level:fatal", {"pay_timeout", "co_regressed"}),
    ("!level:low", ALL - {"co_ignored", "search_ack"}),
    ("service:payments", PAYMENTS),
    ("project:search", SEARCH),
    ("service:payments,search", PAYMENTS | SEARCH),
    ("!service:payments", ALL - PAYMENTS),
    ("service:nope", set()),
    ("env:production", ALL - {"pay_resolved", "co_snoozed", "search_ack"}),
    ("env:staging", {"pay_resolved", "co_snoozed"}),
    ("!env:production", {"pay_resolved", "co_snoozed", "search_ack"}),
    ("release:1.4.2", {"pay_timeout", "pay_decline"}),
    ("first_release:1.4.1", {"pay_decline"}),
    ("!release:2.1.0", ALL - {"co_regressed", "co_ignored", "co_snoozed"}),
    ("first_seen:-24h", {"pay_timeout", "search_new"}),
    ("age:-24h", {"pay_timeout", "search_new"}),
    ("first_seen:+7d", {"pay_resolved", "co_regressed", "co_ignored", "search_escalating", "pay_old"}),
    ("last_seen:-1h", {"pay_timeout", "co_regressed", "co_ignored", "search_new", "search_escalating"}),
    ("!last_seen:-1h", {"pay_decline", "pay_resolved", "co_snoozed", "search_ack", "pay_old"}),
    ("last_seen:>2025-11-01", ALL),
    ("last_seen:<2025-12-01", {"pay_old"}),
    ("last_seen:2025-11-02", {"pay_old"}),
    ("last_seen:2025-11-03", set()),
    ("first_seen:<=2025-10-01T08:00:00Z", {"pay_old"}),
    ("times_seen:>100", {"pay_timeout", "co_regressed", "co_ignored", "search_escalating"}),
    ("times_seen:>=100", {"pay_timeout", "co_regressed", "co_ignored", "search_escalating", "pay_old"}),
    ("times_seen:100", {"pay_old"}),
    ("users:>10", {"pay_timeout", "pay_decline", "co_regressed", "search_escalating"}),
    ("users:<1", {"search_new", "search_ack"}),
    ("timeout", {"pay_timeout", "co_snoozed"}),
    ("TIMEOUT", {"pay_timeout", "co_snoozed"}),
    ('"connection refused"', {"co_regressed"}),
    ("cards", {"pay_decline"}),
    ("KeyError", {"pay_resolved"}),
    ("!timeout", ALL - {"pay_timeout", "co_snoozed"}),
    ("50%_off", {"search_escalating"}),
    ("%", {"search_escalating"}),
    ("_", {"search_escalating"}),
    ("is:unresolved level:critical service:payments assigned:me", {"pay_timeout"}),
    ("is:unresolved level:critical,high !assigned", {"search_new"}),
    ('is:unresolved env:production "timeout"', {"pay_timeout"}),
    ("is:unresolved times_seen:>100 users:>10", {"pay_timeout", "co_regressed", "search_escalating"}),
    ("release:1.4.2 env:production is:acknowledged", {"pay_decline"}),
    ("is:unresolved is:assigned !assigned:me", {"pay_decline", "search_escalating"}),
]


def test_search_table(api):
    with api.collector.session() as session:
        seeded = seed_errors(session, utcnow())
    me = api.token("alice-viewer", Role.VIEWER, developer_id=seeded.developers["alice"])
    wrong: dict[str, tuple[list[str], list[str]]] = {}
    with client_with(api, me) as client:
        for query, expected in TABLE:
            response = client.get("/errors/", params={"q": query, "limit": 100})
            assert response.status_code == 200, (query, response.text)
            got = sorted(seeded.names([item["id"] for item in response.json()["items"]]))
            if got != sorted(expected):
                wrong[query] = (got, sorted(expected))
        by_id = client.get("/errors/", params={"q": f"assigned:{seeded.developers['bob']}"}).json()
    assert wrong == {}
    assert sorted(seeded.names([item["id"] for item in by_id["items"]])) == sorted(BOBS)


@pytest.mark.parametrize(
    ("query", "token", "position"),
    [
        ("is:unresolved lvl:critical", "lvl:critical", 14),
        ("level:urgent", "level:urgent", 0),
        ('"open quote', '"open quote', 0),
        ("times_seen:>many", "times_seen:>many", 0),
    ],
)
def test_a_bad_search_is_400_naming_the_token(viewer, query, token, position):
    response = viewer.get("/errors/", params={"q": query})
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "query.q"
    assert repr(token) in body["detail"]
    assert f"position {position}" in body["detail"]


def test_assigned_me_needs_a_token_tied_to_a_developer(viewer):
    response = viewer.get("/errors/", params={"q": "is:unresolved assigned:me"})
    assert response.status_code == 400
    assert response.json()["field"] == "query.q"
    assert "'assigned:me'" in response.json()["detail"]
    response = viewer.get("/errors/", params={"assignee": "me"})
    assert response.status_code == 400
    assert response.json()["field"] == "query.assignee"


def test_a_nul_character_in_a_search_is_refused(viewer):
    response = viewer.get("/errors/", params={"q": "time\x00out"})
    assert response.status_code == 422
    assert response.json()["field"] == "query.q"
