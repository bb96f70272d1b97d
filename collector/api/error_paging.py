"""What error actions page about once committed: the new owner of an escalated error, and the PagerDuty incident
of an error acknowledged or resolved."""

from __future__ import annotations

import datetime as dt

from collector.alerts import AlertDue
from collector.api.framework import ApiContext
from db.enums import IssueStatus
from db.escalation import page_event_id
from db.models import Escalation, Issue


def page_escalation(ctx: ApiContext, escalation: Escalation) -> None:
    """Page the escalation's target as the chain's escalations do (trigger "escalation"), after the commit."""
    ctx.alert_after_commit(AlertDue(escalation.issue_id, "escalation", page_event_id(escalation)))


def follow_incident(ctx: ApiContext, issue: Issue) -> None:
    """An error whose status just became acknowledged or resolved updates its PagerDuty incident, if it has one.
    The event id names this change (its time), so the update is sent once however often it is enqueued."""
    if issue.status == IssueStatus.ACKNOWLEDGED and issue.acknowledged_at is not None:
        ctx.alert_after_commit(AlertDue(issue.id, "acknowledged", _change_id("ack", issue.acknowledged_at)))
    elif issue.status == IssueStatus.RESOLVED and issue.resolved_at is not None:
        ctx.alert_after_commit(AlertDue(issue.id, "resolved", _change_id("res", issue.resolved_at)))


def _change_id(kind: str, at: dt.datetime) -> str:
    return f"{kind}-{int(at.timestamp() * 1_000_000)}"
