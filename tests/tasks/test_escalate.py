"""Escalation chains on a controllable clock: steps fire when due, page the new owner, stop when acknowledged or
resolved, never twice; and the level-2 person is the right one across a DST change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import EscalationCondition, IssueStatus, IssueSubstatus, Severity
from db.escalation import escalate
from db.escalation_chain import due_steps, next_step_for, take_step
from db.issue_state import acknowledge, resolve
from db.models import Developer, Escalation, EscalationChain, EscalationStep, Issue, Notification, Project
from db.oncall import create_rotation
from errlog.settings import Settings
from tasks.alerts import alert_issue, record_alert
from tasks.escalate import escalate_due, run_escalation_chains
from tasks.queue import runtime
from tests.db.factories import make_developer, make_issue, make_project
from tests.tasks.receivers import Receiver

T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def minutes(n: float, start: dt.datetime = T0) -> dt.datetime:
    return start + dt.timedelta(minutes=n)


def put_on_call(
    session: Session, project: Project, level: int, *developers: Developer, timezone: str = "UTC", **rotation: Any
) -> None:
    rotation.setdefault("start_date", (T0 - dt.timedelta(days=2)).date())
    rotation.setdefault("handoff_time", dt.time(9))
    rotation.setdefault("shift_hours", 24 * 7)
    create_rotation(
        session,
        schedule_name=f"{project.name} on-call",
        project_id=project.id,
        level=level,
        participant_ids=[d.id for d in developers],
        timezone=timezone,
        **rotation,
    )


def make_chain(session: Session, project: Project, *steps: dict[str, Any]) -> EscalationChain:
    chain = EscalationChain(
        project_id=project.id, steps=[EscalationStep(position=i, **step) for i, step in enumerate(steps)]
    )
    session.add(chain)
    session.flush()
    return chain


def escalations(session: Session, issue: Issue) -> list[Escalation]:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(Escalation).where(Escalation.issue_id == issue.id).order_by(Escalation.id)))


def run_at(now: dt.datetime) -> list[tuple[int, str]]:
    """One run of the periodic job at `now`: escalate what is due, then page (as run_escalation_chains does)."""
    taken = escalate_due(runtime.session, now)
    for issue_id, event_id in taken:
        alert_issue(issue_id, "escalation", event_id)
    return taken


def first_page(issue: Issue, settings: Settings, at: dt.datetime = T0) -> None:
    """The error's first page, at `at`: the chain's clock starts here."""
    with runtime.session() as session:
        record_alert(session, settings, issue.id, "new", "first-event", now=at)


def pushes(receiver: Receiver) -> list[dict[str, Any]]:
    return [request.json() for request in receiver.requests if request.path == "/ntfy/"]


@pytest.fixture
def settings(configure_tasks: Callable[..., Settings], receiver: Receiver) -> Settings:
    return configure_tasks(ntfy_url=receiver.url + "/ntfy", alert_cooldown_minutes=60)


@pytest.fixture
def team(db_session: Session) -> dict[str, Any]:
    """checkout: Pia on call at level 1, Sam at level 2, Lea the team lead named by the chain's last step.
    Chain: critical unacknowledged 15 min -> level 2, 30 more -> Lea; high unresolved 6 h -> level 2."""
    project = make_project(db_session, name="checkout")
    pia, sam, lea = (
        make_developer(db_session, name, ntfy_topic=f"{name.lower()}-pager") for name in ("Pia", "Sam", "Lea")
    )
    put_on_call(db_session, project, 1, pia)
    put_on_call(db_session, project, 2, sam)
    unacknowledged, unresolved = EscalationCondition.UNACKNOWLEDGED, EscalationCondition.UNRESOLVED
    make_chain(
        db_session,
        project,
        {"severity": Severity.CRITICAL, "condition": unacknowledged, "after_minutes": 15, "target_level": 2},
        {
            "severity": Severity.CRITICAL,
            "condition": unacknowledged,
            "after_minutes": 30,
            "target_developer_id": lea.id,
        },
        {"severity": Severity.HIGH, "condition": unresolved, "after_minutes": 360, "target_level": 2},
    )
    db_session.commit()
    return {"project": project, "pia": pia, "sam": sam, "lea": lea}


def critical(session: Session, team: dict[str, Any], **fields: Any) -> Issue:
    issue = make_issue(session, team["project"], severity=Severity.CRITICAL, first_seen=T0, title="KeyError: 'sku'")
    for name, value in fields.items():
        setattr(issue, name, value)
    session.commit()
    return issue


def test_a_two_step_chain_escalates_when_each_step_is_due_and_pages_the_new_owner(
    db_session: Session, settings: Settings, receiver: Receiver, team: dict[str, Any]
) -> None:
    issue = critical(db_session, team)
    first_page(issue, settings)
    assert [p["topic"] for p in pushes(receiver)] == []  # recorded at T0, not delivered: only the clock matters

    assert run_at(minutes(14)) == []
    assert len(run_at(minutes(15))) == 1
    first = escalations(db_session, issue)
    assert [(e.level, e.to_developer_id, e.actor) for e in first] == [(2, team["sam"].id, "chain")]
    assert first[0].reason == "unacknowledged for 15 min (step 1 of chain 'default')"
    db_session.refresh(issue)
    assert issue.assignee_id == team["sam"].id and issue.substatus == IssueSubstatus.ESCALATING

    # Sam is paged (not Pia, the level-1 on-call), and told level, from, to and why.
    page = pushes(receiver)[-1]
    assert page["topic"] == "sam-pager"
    assert "Level 2, from unassigned to Sam: unacknowledged for 15 min (step 1 of chain 'default')" in page["message"]

    # Step 2 counts its 30 minutes from the escalation before it.
    assert run_at(minutes(44)) == []
    assert len(run_at(minutes(45))) == 1
    second = escalations(db_session, issue)[-1]
    assert (second.level, second.from_developer_id, second.to_developer_id) == (3, team["sam"].id, team["lea"].id)
    assert second.reason == "unacknowledged 30 min after the last escalation (step 2 of chain 'default')"
    assert pushes(receiver)[-1]["topic"] == "lea-pager"
    assert "Level 3, from Sam to Lea" in pushes(receiver)[-1]["message"]

    # The chain has no step after Lea: nothing more, however long it stays unacknowledged.
    assert run_at(minutes(600)) == []
    assert len(escalations(db_session, issue)) == 2


def test_acknowledging_stops_an_unacknowledged_chain(
    db_session: Session, settings: Settings, receiver: Receiver, team: dict[str, Any]
) -> None:
    issue = critical(db_session, team)
    first_page(issue, settings)
    acknowledge(issue, by="Pia", now=minutes(10))
    db_session.commit()

    assert run_at(minutes(15)) == [] and run_at(minutes(120)) == []
    assert escalations(db_session, issue) == [] and pushes(receiver) == []


def test_resolving_stops_the_chain_after_its_first_step(
    db_session: Session, settings: Settings, receiver: Receiver, team: dict[str, Any]
) -> None:
    issue = critical(db_session, team)
    first_page(issue, settings)
    run_at(minutes(15))
    db_session.refresh(issue)
    resolve(issue, now=minutes(20))
    db_session.commit()

    assert run_at(minutes(45)) == [] and run_at(minutes(300)) == []
    assert [e.level for e in escalations(db_session, issue)] == [2]


def test_an_unresolved_step_goes_on_after_acknowledgement(
    db_session: Session, settings: Settings, team: dict[str, Any]
) -> None:
    issue = make_issue(db_session, team["project"], severity=Severity.HIGH, first_seen=T0)
    db_session.commit()
    first_page(issue, settings)
    acknowledge(issue, by="Pia", now=minutes(5))
    db_session.commit()

    assert run_at(minutes(359)) == []
    run_at(minutes(360))
    [row] = escalations(db_session, issue)
    assert (row.level, row.to_developer_id) == (2, team["sam"].id)
    assert row.reason == "unresolved for 360 min (step 1 of chain 'default')"
    db_session.refresh(issue)
    assert issue.status == IssueStatus.ACKNOWLEDGED  # someone took it; only the owner changed


def test_a_rerun_or_a_second_worker_never_takes_a_step_twice(
    db_session: Session, settings: Settings, receiver: Receiver, team: dict[str, Any]
) -> None:
    issue = critical(db_session, team)
    first_page(issue, settings)
    # A second worker found the same due step before the first took it; it re-checks under the lock.
    db_session.commit()
    stale = due_steps(db_session, minutes(15))
    assert [s.issue_id for s in stale] == [issue.id]
    db_session.rollback()

    taken = run_at(minutes(15))
    assert run_at(minutes(15)) == [] and run_at(minutes(16)) == []
    with runtime.session() as session:
        assert take_step(session, issue.id, minutes(15)) is None
    assert len(escalations(db_session, issue)) == 1

    # The same page enqueued again (a retried task) sends nothing more.
    alert_issue(issue.id, "escalation", taken[0][1])
    assert [p["topic"] for p in pushes(receiver)] == ["sam-pager"]
    rows = db_session.scalars(select(Notification).where(Notification.trigger == "escalation")).all()
    assert len(rows) == 1


def test_a_manual_escalation_restarts_the_clock(db_session: Session, settings: Settings, team: dict[str, Any]) -> None:
    issue = critical(db_session, team)
    first_page(issue, settings)
    escalate(db_session, issue, now=minutes(5), actor="ops", reason="Pia knows this code")  # level 1: Pia
    db_session.commit()

    # The chain's first step now counts its 15 minutes from that escalation.
    step = next_step_for(db_session, issue)
    assert step is not None and (step.number, step.level, step.due_at) == (1, 2, minutes(20))
    assert run_at(minutes(15)) == []
    run_at(minutes(20))
    rows = escalations(db_session, issue)
    assert [(e.actor, e.to_developer_id) for e in rows] == [("ops", team["pia"].id), ("chain", team["sam"].id)]
    assert rows[-1].reason == "unacknowledged 15 min after the last escalation (step 1 of chain 'default')"


def test_nobody_at_the_next_level_is_tried_again_next_minute(
    db_session: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    project = make_project(db_session, name="search")
    make_chain(db_session, project, {"after_minutes": 15, "target_level": 2})
    issue = make_issue(db_session, project, severity=Severity.CRITICAL, first_seen=T0)
    db_session.commit()

    assert run_at(minutes(20)) == []
    assert "no level 2 on-call" in caplog.text
    assert escalations(db_session, issue) == []

    sam = make_developer(db_session, "Sam")
    put_on_call(db_session, project, 2, sam)
    db_session.commit()
    assert len(run_at(minutes(21))) == 1


def test_the_level_two_hand_off_across_the_end_of_summer_time(
    db_session: Session, settings: Settings, receiver: Receiver
) -> None:
    """Berlin leaves summer time on Sunday 25 October 2026 at 03:00 CEST (01:00 UTC). The level-2 rotation hands
    over daily at 09:00 Berlin time: 07:00 UTC on Saturday, 08:00 UTC on Sunday."""
    project = make_project(db_session, name="payments")
    pia, ben, cleo = (make_developer(db_session, name, ntfy_topic=name.lower()) for name in ("Pia", "Ben", "Cleo"))
    put_on_call(db_session, project, 1, pia)
    # Ben from Saturday 24 Oct 09:00, Cleo from Sunday 25 Oct 09:00 (Berlin).
    put_on_call(
        db_session, project, 2, ben, cleo, timezone="Europe/Berlin", start_date=dt.date(2026, 10, 24), shift_hours=24
    )
    make_chain(db_session, project, {"after_minutes": 15, "target_level": 2})
    sunday = dt.datetime(2026, 10, 25, tzinfo=dt.UTC)
    before_handoff = make_issue(db_session, project, severity=Severity.CRITICAL, first_seen=sunday)
    after_handoff = make_issue(db_session, project, severity=Severity.CRITICAL, first_seen=sunday)
    db_session.commit()
    first_page(before_handoff, settings, at=sunday + dt.timedelta(hours=7, minutes=30))
    first_page(after_handoff, settings, at=sunday + dt.timedelta(hours=7, minutes=50))

    # 07:45 UTC is 08:45 CET: still Ben's shift (a clock still on summer time would have handed over at 07:00).
    run_at(sunday + dt.timedelta(hours=7, minutes=45))
    # 08:05 UTC is 09:05 CET: Cleo's.
    run_at(sunday + dt.timedelta(hours=8, minutes=5))

    assert [e.to_developer_id for e in escalations(db_session, before_handoff)] == [ben.id]
    assert [e.to_developer_id for e in escalations(db_session, after_handoff)] == [cleo.id]
    assert [p["topic"] for p in pushes(receiver)] == ["ben", "cleo"]


def test_the_periodic_job_is_registered_and_runs_on_the_real_clock(
    db_session: Session, settings: Settings, receiver: Receiver, team: dict[str, Any]
) -> None:
    issue = critical(db_session, team)
    first_page(issue, settings)  # T0 is long past: step 1 is due now
    run_escalation_chains.call_local()
    run_escalation_chains.call_local()  # step 2 counts its 30 minutes from step 1's escalation, just now
    assert [e.level for e in escalations(db_session, issue)] == [2]
