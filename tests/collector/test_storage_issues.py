"""store_batch writes what each batch changed of its issues back to their rows: counts, times, releases, states."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from collector.storage import store_batch
from db.issue_state import Transition
from db.models import Issue
from tests.collector.factories import prepared_event
from tests.db.factories import make_project

AT = dt.datetime(2026, 11, 28, 22, 0, tzinfo=dt.UTC)


def test_counts_times_releases_and_severity_of_each_batch_reach_the_row(db_session):
    project = make_project(db_session)
    first = [
        prepared_event(project.id, AT + dt.timedelta(minutes=5), user_key="u1", release="1.0"),
        prepared_event(project.id, AT, user_key="u2", release="0.9", environment="staging"),
    ]
    outcomes = store_batch(db_session, first, now=AT + dt.timedelta(minutes=6))
    db_session.commit()
    assert outcomes[0].transitions == {Transition.NEW}
    later = AT + dt.timedelta(hours=1)
    second = [
        prepared_event(project.id, later, user_key="u1", release="1.1", severity="critical", environment="canary"),
        prepared_event(project.id, later - dt.timedelta(minutes=1), user_key="u3", release="1.0"),
    ]
    outcomes = store_batch(db_session, second, now=later)
    db_session.commit()
    assert outcomes[0].transitions == {Transition.SEVERITY_ESCALATED}

    db_session.expire_all()
    issue = db_session.scalars(select(Issue).where(Issue.project_id == project.id)).one()
    assert (issue.times_seen, issue.users_affected) == (4, 3)
    assert (issue.first_seen, issue.last_seen, issue.updated_at) == (AT, later, later)
    assert (issue.first_release, issue.last_release, issue.last_environment) == ("1.0", "1.1", "canary")
    assert (issue.severity, issue.status, issue.substatus) == ("critical", "unresolved", "ongoing")


def test_a_regression_reopens_the_row_and_clears_its_resolution(db_session):
    project = make_project(db_session)
    issue_id = store_batch(db_session, [prepared_event(project.id, AT, release="1.0")], now=AT)[0].issue_id
    db_session.execute(
        update(Issue)
        .where(Issue.id == issue_id)
        .values(status="resolved", substatus=None, resolved_at=AT, resolved_in_release="1.0", acknowledged_by="amy")
    )
    db_session.commit()
    later = AT + dt.timedelta(days=1)
    outcomes = store_batch(db_session, [prepared_event(project.id, later, release="1.1")], now=later)
    db_session.commit()
    assert outcomes[0].transitions == {Transition.REGRESSED}

    db_session.expire_all()
    issue = db_session.get_one(Issue, issue_id)
    assert (issue.status, issue.substatus, issue.is_regression) == ("unresolved", "regressed", True)
    assert (issue.resolved_at, issue.resolved_in_release, issue.acknowledged_by) == (None, None, None)
    assert issue.times_seen == 2


def test_an_issue_whose_events_were_all_retries_is_not_touched(db_session):
    project = make_project(db_session)
    event = prepared_event(project.id, AT)
    store_batch(db_session, [event], now=AT)
    db_session.commit()
    later = AT + dt.timedelta(hours=2)
    outcomes = store_batch(db_session, [event], now=later)
    db_session.commit()
    assert not outcomes[0].stored

    db_session.expire_all()
    issue = db_session.scalars(select(Issue).where(Issue.project_id == project.id)).one()
    assert (issue.times_seen, issue.updated_at) == (1, AT)


def test_two_collectors_storing_the_same_issues_at_once_never_deadlock_and_count_every_event(db_session):
    """Two writers (as two collector processes) store overlapping batches at the same moments, round after round:
    issues new to both, issues both already know, in different orders within the batches."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns on the database's one write lock")
    project = make_project(db_session)
    db_session.commit()
    engine = db_session.get_bind()
    rounds, per_batch = 20, 8
    start = threading.Barrier(2)
    outcomes: dict[int, list] = {0: [], 1: []}

    def writer(n: int) -> None:
        rng = random.Random(n)
        with Session(engine) as session:
            for r in range(rounds):
                # Each round brings one issue new to both writers, plus issues from earlier rounds.
                fingerprints = [f"round-{r}"] + [f"round-{rng.randrange(r + 1)}" for _ in range(per_batch - 1)]
                rng.shuffle(fingerprints)
                batch = [prepared_event(project.id, AT + dt.timedelta(seconds=r), fingerprint=f) for f in fingerprints]
                start.wait(timeout=30)
                outcomes[n].extend(store_batch(session, batch, now=AT))
                session.commit()

    threads = [threading.Thread(target=writer, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    every = outcomes[0] + outcomes[1]
    assert len(every) == 2 * rounds * per_batch and all(o.stored for o in every)

    db_session.expire_all()
    issues = db_session.scalars(select(Issue).where(Issue.project_id == project.id)).all()
    assert sorted(i.fingerprint for i in issues) == sorted(f"round-{r}" for r in range(rounds))
    assert sum(i.times_seen for i in issues) == len(every)
    by_issue: dict[int, int] = {}
    for o in every:
        by_issue[o.issue_id] = by_issue.get(o.issue_id, 0) + 1
    assert {i.id: i.times_seen for i in issues} == by_issue
    # Each issue was new to exactly one of the two writers.
    new = [o.issue_id for o in every if Transition.NEW in o.transitions]
    assert sorted(new) == sorted(i.id for i in issues)
    hourly = db_session.execute(
        text("SELECT sum(events) FROM issue_hourly_counts WHERE issue_id IN (SELECT id FROM issues)")
    ).scalar_one()
    shared = db_session.execute(text("SELECT sum(events) FROM project_hourly_counts")).scalar_one()
    assert hourly == shared == len(every)


def test_a_writer_locks_its_issues_while_another_holds_their_foreign_key_locks(db_session):
    """The deadlock the lock mode avoids, step by step: two writers insert events of one issue (each insert's
    foreign-key check takes FOR KEY SHARE on the issue), then both lock the issue. FOR UPDATE would wait for the
    other's KEY SHARE, each for the other's; FOR NO KEY UPDATE waits for neither, so the first locks at once and the
    second waits only for the first's commit."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns on the database's one write lock")
    from collector import storage_postgres
    from collector.storage import unique_events

    project = make_project(db_session)
    db_session.commit()
    fingerprint = "shared-issue"
    store_batch(db_session, [prepared_event(project.id, AT, fingerprint=fingerprint)], now=AT, commit=True)
    db_session.commit()
    lock = {"projects": [project.id], "fingerprints": [fingerprint]}

    def events_of_the_issue(days_later: int) -> dict:
        # Days apart: writers of one issue in the same hour already take turns on its hourly count's row.
        item = prepared_event(project.id, AT + dt.timedelta(days=days_later), fingerprint=fingerprint)
        return {**storage_postgres._event_params(unique_events([item]), archived=False), **lock}

    engine = db_session.get_bind()
    first, second = (engine.raw_connection() for _ in range(2))
    try:
        a, b = first.driver_connection, second.driver_connection
        for conn in (a, b):
            conn.execute("SET lock_timeout = '5s'")
            conn.commit()
        assert len(a.execute(storage_postgres._STORE_EVENTS, events_of_the_issue(1)).fetchall()) == 1
        assert len(b.execute(storage_postgres._STORE_EVENTS, events_of_the_issue(2)).fetchall()) == 1
        # b holds KEY SHARE on the issue now; a's lock must not wait for it (it would time out after 5 s).
        assert len(a.execute(storage_postgres._LOCK_ISSUES, lock).fetchall()) == 1
        second_locked = threading.Event()

        def second_writer() -> None:
            b.execute(storage_postgres._LOCK_ISSUES, lock).fetchall()
            second_locked.set()
            b.commit()

        waiting = threading.Thread(target=second_writer)
        waiting.start()
        assert not second_locked.wait(0.5)  # b waits for a, as it should: one writer at a time per issue
        a.commit()
        waiting.join(timeout=10)
        assert second_locked.is_set()
    finally:
        first.close()
        second.close()
    assert db_session.execute(text("SELECT count(*) FROM events")).scalar_one() == 3


def test_with_commit_postgres_commits_in_the_batch_and_the_session_goes_on(db_session):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("only PostgreSQL sends the COMMIT with the batch; SQLite's caller commits")
    project = make_project(db_session)
    db_session.commit()
    first = store_batch(db_session, [prepared_event(project.id, AT)], now=AT, commit=True)[0]
    with Session(db_session.get_bind()) as other:  # committed already: another connection sees it
        assert other.scalars(select(Issue.times_seen).where(Issue.id == first.issue_id)).one() == 1
    db_session.commit()  # nothing left to send, and no error
    # The next batch opens a new transaction on the same session, and a rollback undoes it alone.
    store_batch(db_session, [prepared_event(project.id, AT + dt.timedelta(minutes=1))], now=AT)
    db_session.rollback()
    assert db_session.scalars(select(Issue.times_seen).where(Issue.id == first.issue_id)).one() == 1


def test_stored_times_compare_equal_to_the_orm_s_own_and_read_back_aware(db_session):
    """SQLite keeps times as text, compared as text: what storage writes must be what SQLAlchemy's column type
    writes for the same time (else `WHERE last_seen = :t` or `> :t` would miss rows), whatever zone it came in."""
    from db.models import Event, IssueHourlyCount, IssueUser
    from db.rollups import hour_of

    project = make_project(db_session)
    db_session.commit()
    # A whole second (no microseconds to print) given in another zone: both are where formats could drift.
    at = dt.datetime(2026, 11, 28, 23, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    item = prepared_event(project.id, at, user_key="u1")
    [outcome] = store_batch(db_session, [item], now=at)
    db_session.commit()
    db_session.expire_all()
    assert db_session.scalars(select(Event.id).where(Event.timestamp == at, Event.received_at == at)).one()
    issue = db_session.scalars(
        select(Issue).where(Issue.first_seen == at, Issue.last_seen == at, Issue.updated_at == at)
    ).one()
    assert issue.id == outcome.issue_id and issue.first_seen.tzinfo is not None
    assert issue.first_seen == at and issue.resolved_in_next_release is False
    assert db_session.scalars(select(IssueUser.first_seen).where(IssueUser.first_seen == at)).one() == at
    assert db_session.scalars(select(IssueHourlyCount.events).where(IssueHourlyCount.hour == hour_of(at))).one() == 1
    assert db_session.scalars(select(Issue.id).where(Issue.last_seen > at - dt.timedelta(microseconds=1))).one()


def test_a_naive_time_is_refused_rather_than_stored_in_the_wrong_zone(db_session):
    project = make_project(db_session)
    db_session.commit()
    naive = dt.datetime(2026, 11, 28, 22, 0)
    with pytest.raises((ValueError, TypeError, StatementError)):
        store_batch(db_session, [prepared_event(project.id, naive)], now=AT)
    db_session.rollback()
    assert db_session.scalars(select(Issue).where(Issue.project_id == project.id)).all() == []


def test_a_database_that_refuses_writes_is_an_outage_not_a_bad_batch(db_session):
    """The writer answers 503 and probes for an OperationalError, and rejects events one by one (400) for others:
    SQLite's own errors must reach it as SQLAlchemy's, as they did before storage used the sqlite3 connection."""
    if db_session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL's path is tested with a stopped server (test_storage_outage.py)")
    from sqlalchemy.exc import IntegrityError, OperationalError

    from collector.writer import _is_outage

    project = make_project(db_session)
    db_session.commit()
    db_session.execute(text("PRAGMA query_only = ON"))  # as a read-only file or a full disk would refuse
    with pytest.raises(OperationalError) as refused:
        store_batch(db_session, [prepared_event(project.id, AT)], now=AT)
    assert _is_outage(refused.value)
    db_session.rollback()
    db_session.execute(text("PRAGMA query_only = OFF"))
    with pytest.raises(IntegrityError) as bad:  # the CHECK constraint of the severity column
        store_batch(db_session, [prepared_event(project.id, AT, severity="catastrophic")], now=AT)
    assert not _is_outage(bad.value)
    db_session.rollback()


def test_the_largest_batch_the_settings_allow_is_stored_in_one_go(db_session):
    """ERRLOG_INGEST_BATCH_SIZE goes up to 1,000 events, each a new issue here: every row of a statement is bound at
    once (24,000 values for the issues on SQLite, under its limit of 32,766)."""
    from errlog.settings import Settings

    largest = next(m.le for m in Settings.model_fields["ingest_batch_size"].metadata if hasattr(m, "le"))
    assert largest == 1000
    project = make_project(db_session)
    db_session.commit()
    batch = [
        prepared_event(project.id, AT, fingerprint=f"site-{n}", user_key=f"user-{n}", release=f"1.{n}")
        for n in range(largest)
    ]
    outcomes = store_batch(db_session, batch, now=AT)
    db_session.commit()
    assert len(outcomes) == largest and all(o.stored and Transition.NEW in o.transitions for o in outcomes)
    assert db_session.execute(text("SELECT count(*) FROM issues")).scalar_one() == largest
    assert db_session.execute(text("SELECT count(*) FROM issue_users")).scalar_one() == largest


def test_during_a_grouping_transition_an_event_joins_the_issue_its_previous_fingerprint_names(db_session):
    project = make_project(db_session)
    now = dt.datetime.now(dt.UTC)
    old = "a" * 64  # the issue as the previous grouping made it
    [first] = store_batch(db_session, [prepared_event(project.id, fingerprint=old)], now=now)
    db_session.commit()
    moved = "b" * 64  # the same bug under the new grouping
    batch = [
        prepared_event(project.id, fingerprint=moved, previous_fingerprint=old),  # joins the old issue
        prepared_event(project.id, fingerprint="c" * 64, previous_fingerprint="d" * 64),  # a new bug: a new issue
    ]
    joined, new = store_batch(db_session, batch, now=now)
    db_session.commit()
    assert joined.issue_id == first.issue_id and new.issue_id != first.issue_id
    fingerprints = dict(db_session.execute(select(Issue.fingerprint, Issue.times_seen)).all())
    assert fingerprints == {old: 2, "c" * 64: 1}
    # Once the new fingerprint names an issue, it wins over the previous one.
    [again] = store_batch(
        db_session, [prepared_event(project.id, fingerprint="c" * 64, previous_fingerprint=old)], now=now
    )
    assert again.issue_id == new.issue_id


def test_each_outcome_carries_its_issues_times_seen_after_the_batch(db_session):
    """What the alert checks bound an issue's recent count by (collector/alerts.py)."""
    project = make_project(db_session)
    store_batch(db_session, [prepared_event(project.id, AT, fingerprint="a")], now=AT)
    db_session.commit()
    batch = [prepared_event(project.id, AT, fingerprint=f) for f in ("a", "a", "b")]
    retry = dataclasses.replace(batch[0])  # the same event_id sent again in the same batch
    outcomes = store_batch(db_session, [*batch, retry], now=AT)
    db_session.commit()
    assert [o.times_seen for o in outcomes] == [3, 3, 1, 3]
    assert [o.stored for o in outcomes] == [True, True, True, False]
