"""Escalation: to the next on-call level, to a chain step's target, to a named developer; and what is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.enums import IssueStatus, IssueSubstatus, Severity
from db.escalation import EscalationError, chain_levels, escalate
from db.issue_state import StateError
from db.models import Escalation, EscalationChain, EscalationStep
from db.oncall import create_rotation
from tests.db.factories import make_developer, make_issue, make_project

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def put_on_call(session, project, level, *developers, schedule_name=None):
    """One rotation at `level` of the project's schedule that has covered NOW for a while."""
    return create_rotation(
        session,
        schedule_name=schedule_name or f"{project.name} on-call",
        project_id=project.id,
        level=level,
        participant_ids=[d.id for d in developers],
        start_date=(NOW - dt.timedelta(days=2)).date(),
        handoff_time=dt.time(9),
        timezone="UTC",
        shift_hours=24 * 7,
    )


def make_chain(session, project, *steps: dict) -> EscalationChain:
    chain = EscalationChain(
        project_id=project.id,
        steps=[EscalationStep(position=i, after_minutes=15 * (i + 1), **step) for i, step in enumerate(steps)],
    )
    session.add(chain)
    session.flush()
    return chain


@pytest.fixture
def team(db_session):
    project = make_project(db_session)
    primary, secondary, lead = (make_developer(db_session, name) for name in ("Pia", "Sam", "Lea"))
    put_on_call(db_session, project, 1, primary)
    put_on_call(db_session, project, 2, secondary)
    return project, primary, secondary, lead


def test_an_unassigned_error_goes_to_the_level_one_on_call(db_session, team):
    project, primary, _, _ = team
    issue = make_issue(db_session, project)

    row = escalate(db_session, issue, now=NOW, actor="ops-token", reason="  nobody picked it up ")
    db_session.commit()

    stored = db_session.scalars(select(Escalation)).one()
    assert stored is row
    assert (row.level, row.from_developer_id, row.to_developer_id, row.step_id) == (1, None, primary.id, None)
    assert (row.reason, row.actor, row.created_at) == ("nobody picked it up", "ops-token", NOW)
    assert issue.escalation_level == 1
    assert issue.assignee_id == primary.id and issue.assigned_at == NOW
    assert issue.substatus == IssueSubstatus.ESCALATING
    assert issue.status == IssueStatus.UNRESOLVED
    assert issue.updated_at == NOW


def test_an_error_the_primary_holds_goes_to_the_secondary(db_session, team):
    project, primary, secondary, _ = team
    issue = make_issue(db_session, project, assignee_id=primary.id)

    row = escalate(db_session, issue, now=NOW, actor="ops", reason="stuck")

    assert (row.level, row.from_developer_id, row.to_developer_id) == (2, primary.id, secondary.id)
    assert issue.escalation_level == 2 and issue.assignee_id == secondary.id


def test_escalating_past_the_last_level_is_refused_and_changes_nothing(db_session, team):
    project, _, secondary, _ = team
    issue = make_issue(db_session, project, assignee_id=secondary.id, escalation_level=2)

    with pytest.raises(EscalationError, match="no level 3 on-call"):
        escalate(db_session, issue, now=NOW, actor="ops", reason="stuck")

    assert issue.escalation_level == 2 and issue.assignee_id == secondary.id
    assert db_session.scalars(select(Escalation)).all() == []


def test_an_escalation_error_is_a_state_error(db_session, team):
    project, _, _, _ = team
    issue = make_issue(db_session, project, escalation_level=5)
    with pytest.raises(StateError):
        escalate(db_session, issue, now=NOW, actor="ops", reason="stuck")


def test_without_anyone_on_call_the_chain_step_for_that_level_answers(db_session, team):
    project, _, secondary, lead = team
    chain = make_chain(db_session, project, {"target_level": 2}, {"target_developer_id": lead.id})
    issue = make_issue(db_session, project, assignee_id=secondary.id, escalation_level=2)

    row = escalate(db_session, issue, now=NOW, actor="ops", reason="still broken")

    assert (row.level, row.to_developer_id, row.step_id) == (3, lead.id, chain.steps[1].id)
    assert issue.escalation_level == 3 and issue.assignee_id == lead.id


def test_an_inactive_on_call_developer_is_passed_over_for_the_chain_step(db_session, team):
    project, primary, secondary, lead = team
    secondary.is_active = False
    make_chain(db_session, project, {"target_level": 2, "target_developer_id": lead.id})
    issue = make_issue(db_session, project, assignee_id=primary.id, escalation_level=1)

    row = escalate(db_session, issue, now=NOW, actor="ops", reason="stuck")

    assert (row.level, row.to_developer_id) == (2, lead.id)


def test_to_a_named_developer(db_session, team):
    project, primary, _, lead = team
    issue = make_issue(db_session, project, assignee_id=primary.id, status=IssueStatus.ACKNOWLEDGED)

    row = escalate(db_session, issue, now=NOW, actor="ops", reason="needs the lead", to_developer_id=lead.id)

    assert (row.level, row.from_developer_id, row.to_developer_id) == (1, primary.id, lead.id)
    assert issue.assignee_id == lead.id and issue.escalation_level == 1
    assert issue.status == IssueStatus.ACKNOWLEDGED and issue.substatus == IssueSubstatus.ESCALATING


def test_named_developers_that_cannot_take_it(db_session, team):
    project, primary, _, lead = team
    issue = make_issue(db_session, project, assignee_id=primary.id)
    lead.is_active = False
    with pytest.raises(EscalationError, match="no developer with id 999999"):
        escalate(db_session, issue, now=NOW, actor="ops", reason="r", to_developer_id=999_999)
    with pytest.raises(EscalationError, match="inactive"):
        escalate(db_session, issue, now=NOW, actor="ops", reason="r", to_developer_id=lead.id)
    with pytest.raises(EscalationError, match="already assigned to Pia"):
        escalate(db_session, issue, now=NOW, actor="ops", reason="r", to_developer_id=primary.id)
    assert issue.escalation_level == 0 and issue.assignee_id == primary.id


@pytest.mark.parametrize("status", [IssueStatus.RESOLVED, IssueStatus.IGNORED])
def test_closed_errors_do_not_escalate(db_session, team, status):
    project, _, _, _ = team
    issue = make_issue(db_session, project, status=status)
    with pytest.raises(EscalationError, match=f"is {status}: only unresolved or acknowledged"):
        escalate(db_session, issue, now=NOW, actor="ops", reason="r")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_reason_is_required_and_bounded(db_session, team, reason):
    project, _, _, _ = team
    issue = make_issue(db_session, project)
    with pytest.raises(EscalationError, match="reason"):
        escalate(db_session, issue, now=NOW, actor="ops", reason=reason)


def test_by_a_chain_step(db_session, team):
    project, primary, secondary, lead = team
    chain = make_chain(
        db_session,
        project,
        {"severity": Severity.CRITICAL, "target_level": 2},
        {"severity": Severity.CRITICAL, "target_developer_id": lead.id},
        {"severity": Severity.HIGH, "target_level": 2},
    )
    issue = make_issue(db_session, project, severity=Severity.CRITICAL, assignee_id=primary.id, escalation_level=1)
    first, second, for_high = chain.steps

    row = escalate(db_session, issue, now=NOW, actor="chain", reason="unacknowledged 15 min", step_id=first.id)
    assert (row.level, row.to_developer_id, row.step_id, row.actor) == (2, secondary.id, first.id, "chain")

    with pytest.raises(EscalationError, match=r"already at escalation level 2; step \d+ goes to level 2"):
        escalate(db_session, issue, now=NOW, actor="chain", reason="again", step_id=first.id)
    with pytest.raises(EscalationError, match="is for high errors"):
        escalate(db_session, issue, now=NOW, actor="chain", reason="wrong severity", step_id=for_high.id)

    row = escalate(db_session, issue, now=NOW, actor="chain", reason="unacknowledged 45 min", step_id=second.id)
    assert (row.level, row.to_developer_id) == (3, lead.id)
    assert [e.level for e in db_session.scalars(select(Escalation).order_by(Escalation.id))] == [2, 3]


def test_a_step_of_another_projects_chain_is_refused(db_session, team):
    project, _, _, lead = team
    other = make_project(db_session)
    foreign = make_chain(db_session, other, {"target_developer_id": lead.id})
    issue = make_issue(db_session, project)
    with pytest.raises(EscalationError, match=f"no escalation step {foreign.steps[0].id}"):
        escalate(db_session, issue, now=NOW, actor="chain", reason="r", step_id=foreign.steps[0].id)
    with pytest.raises(EscalationError, match="not both"):
        escalate(db_session, issue, now=NOW, actor="ops", reason="r", to_developer_id=lead.id, step_id=1)


def test_a_step_with_a_level_nobody_covers_falls_back_to_its_developer(db_session, team):
    project, _, secondary, lead = team
    chain = make_chain(db_session, project, {"target_level": 3, "target_developer_id": lead.id})
    issue = make_issue(db_session, project, assignee_id=secondary.id, escalation_level=2)

    row = escalate(db_session, issue, now=NOW, actor="chain", reason="r", step_id=chain.steps[0].id)

    assert (row.level, row.to_developer_id) == (3, lead.id)


def test_chain_levels_count_up_from_the_primary():
    steps = [
        EscalationStep(position=0, target_developer_id=5),
        EscalationStep(position=1, target_level=4),
        EscalationStep(position=2, severity=Severity.LOW, target_developer_id=6),
        EscalationStep(position=3, target_developer_id=7),
    ]
    assert [(level, s.position) for level, s in chain_levels(steps, Severity.CRITICAL)] == [(2, 0), (4, 1), (5, 3)]
    assert [(level, s.position) for level, s in chain_levels(steps, "low")] == [(2, 0), (4, 1), (5, 2), (6, 3)]
