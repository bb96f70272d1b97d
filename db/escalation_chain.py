"""When an open error's escalation chain takes its next step: which step, and from when its minutes count.

The timing is PagerDuty's and Grafana OnCall's: a step's minutes count from the step before it. The first step
counts from the error's first page (or from the page that reopened it, for a regression or an ended snooze); each
later step from the escalation before it, the chain's or one made by hand. So "critical unacknowledged for 15
minutes -> level 2, then 30 -> level 3" reaches level 3 45 minutes after the first page.

A step whose condition is `unacknowledged` only applies while nobody has acknowledged the error; an `unresolved`
step applies to acknowledged errors too. Resolved and ignored errors take no step at all."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from db.enums import EscalationCondition, IssueStatus, Severity
from db.escalation import chain_levels, escalate
from db.issue_state import OPEN_STATUSES
from db.models import Escalation, EscalationChain, Issue, Notification

log = logging.getLogger(__name__)

CHAIN_ACTOR = "chain"
# Notifications that page about the error itself (not escalations, incident updates or notices).
PAGE_TRIGGERS = ("new", "regression", "severity", "snooze_ended", "threshold")
# The pages that start a new episode of an error that had been closed.
REOPENING_TRIGGERS = ("regression", "snooze_ended")
_BATCH = 500


@dataclass(frozen=True)
class NextStep:
    """The step an open error's chain takes next, and when."""

    issue_id: int
    step_id: int
    number: int  # 1-based, among the chain's steps for the error's severity
    level: int
    condition: EscalationCondition
    after_minutes: int
    chain_name: str
    clock_start: dt.datetime
    # Whether the minutes count from an escalation (else from the error's first page).
    after_escalation: bool

    @property
    def due_at(self) -> dt.datetime:
        return self.clock_start + dt.timedelta(minutes=self.after_minutes)

    def reason(self) -> str:
        """E.g. "unacknowledged for 15 min (step 1 of chain 'default')"."""
        where = f"(step {self.number} of chain '{self.chain_name}')"
        if self.after_escalation:
            return f"{self.condition} {self.after_minutes} min after the last escalation {where}"
        return f"{self.condition} for {self.after_minutes} min {where}"


def _condition_holds(condition: EscalationCondition | str, status: IssueStatus | str) -> bool:
    if condition == EscalationCondition.UNACKNOWLEDGED:
        return status == IssueStatus.UNRESOLVED
    return status in OPEN_STATUSES


def next_step(
    issue: Issue, chain: EscalationChain, clock_start: dt.datetime, after_escalation: bool
) -> NextStep | None:
    """The first step of `chain` above the error's escalation level whose condition holds now, or None: the error
    is closed, past the chain's last level, or acknowledged with only `unacknowledged` steps left."""
    if issue.status not in OPEN_STATUSES:
        return None
    for number, (level, step) in enumerate(chain_levels(list(chain.steps), Severity(issue.severity)), start=1):
        if level <= issue.escalation_level or not _condition_holds(step.condition, issue.status):
            continue
        return NextStep(
            issue_id=issue.id,
            step_id=step.id,
            number=number,
            level=level,
            condition=EscalationCondition(step.condition),
            after_minutes=step.after_minutes,
            chain_name=chain.name,
            clock_start=clock_start,
            after_escalation=after_escalation,
        )
    return None


def clock_starts(session: Session, issues: Iterable[Issue]) -> dict[int, tuple[dt.datetime, bool]]:
    """Per error: (when its chain's clock started, whether that was an escalation). The later of its last
    escalation and the start of its current episode: the page that reopened it, else its first page, else (it
    never paged: no channel applied) its first event."""
    by_id = {issue.id: issue for issue in issues}
    starts: dict[int, tuple[dt.datetime, bool]] = {}
    ids = list(by_id)
    for offset in range(0, len(ids), _BATCH):
        batch = ids[offset : offset + _BATCH]
        first_page = _grouped(session, func.min(Notification.created_at), batch, PAGE_TRIGGERS)
        reopened = _grouped(session, func.max(Notification.created_at), batch, REOPENING_TRIGGERS)
        escalated = dict(
            session.execute(
                select(Escalation.issue_id, func.max(Escalation.created_at))
                .where(Escalation.issue_id.in_(batch))
                .group_by(Escalation.issue_id)
            ).all()
        )
        for issue_id in batch:
            episode = reopened.get(issue_id) or first_page.get(issue_id) or by_id[issue_id].first_seen
            last = escalated.get(issue_id)
            starts[issue_id] = (last, True) if last is not None and last >= episode else (episode, False)
    return starts


def _grouped(session: Session, aggregate: object, ids: list[int], triggers: tuple[str, ...]) -> dict[int, dt.datetime]:
    rows = session.execute(
        select(Notification.issue_id, aggregate)  # type: ignore[call-overload]
        .where(Notification.issue_id.in_(ids), Notification.trigger.in_(triggers))
        .group_by(Notification.issue_id)
    ).all()
    return {issue_id: at for issue_id, at in rows}


def _chains(session: Session, project_ids: Iterable[int] | None = None) -> dict[int, EscalationChain]:
    query = select(EscalationChain).options(selectinload(EscalationChain.steps))
    if project_ids is not None:
        query = query.where(EscalationChain.project_id.in_(list(project_ids)))
    return {chain.project_id: chain for chain in session.scalars(query)}


def next_step_for(session: Session, issue: Issue) -> NextStep | None:
    """The next step of one error's chain (for the error's detail), or None."""
    chain = _chains(session, [issue.project_id]).get(issue.project_id)
    if chain is None:
        return None
    start, after_escalation = clock_starts(session, [issue])[issue.id]
    return next_step(issue, chain, start, after_escalation)


def _escalatable(session: Session, chain: EscalationChain) -> list[Issue]:
    """The open errors of the chain's project below the top level its steps reach for their severity: the only
    ones it may still escalate (the rest of a big backlog is not read every minute)."""
    conditions = []
    for severity in Severity:
        levels = [level for level, _ in chain_levels(list(chain.steps), severity)]
        if levels:
            conditions.append(and_(Issue.severity == severity, Issue.escalation_level < max(levels)))
    if not conditions:
        return []
    query = select(Issue).where(Issue.project_id == chain.project_id, Issue.status.in_(OPEN_STATUSES), or_(*conditions))
    return list(session.scalars(query.order_by(Issue.id)))


def due_steps(session: Session, now: dt.datetime) -> list[NextStep]:
    """Every open error of a project with a chain whose next step is due at `now`, oldest due first."""
    chains = _chains(session)
    issues = [issue for chain in chains.values() for issue in _escalatable(session, chain)]
    starts = clock_starts(session, issues)
    due = []
    for issue in issues:
        step = next_step(issue, chains[issue.project_id], *starts[issue.id])
        if step is not None and step.due_at <= now:
            due.append(step)
    return sorted(due, key=lambda s: (s.due_at, s.issue_id))


def take_step(session: Session, issue_id: int, now: dt.datetime) -> Escalation | None:
    """Take the error's next step if it is still due, as the chain; None when it no longer is (acknowledged,
    resolved or escalated since it was found). The error is locked and its step worked out again, so two workers
    or a re-run never take the same step twice. Raises EscalationError when nobody is there to escalate to."""
    issue = session.scalars(select(Issue).where(Issue.id == issue_id).with_for_update()).first()
    if issue is None:
        return None
    step = next_step_for(session, issue)
    if step is None or step.due_at > now:
        return None
    return escalate(session, issue, now=now, actor=CHAIN_ACTOR, reason=step.reason(), step_id=step.step_id)
