"""The escalation chains' periodic job: every minute, take each open error's next step once it is due, and page
the developer it now belongs to."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from huey import crontab
from sqlalchemy.orm import Session

from db.escalation import EscalationError, page_event_id
from db.escalation_chain import due_steps, take_step
from db.types import utcnow
from tasks.alerts import alert_issue
from tasks.queue import huey, runtime

log = logging.getLogger(__name__)

ESCALATION_TRIGGER = "escalation"

SessionScope = Callable[[], AbstractContextManager[Session]]


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("escalation-chains", ttl=300)
def run_escalation_chains() -> None:
    """Every minute: escalate what is due, then page each new target."""
    for issue_id, event_id in escalate_due(runtime.session, utcnow()):
        alert_issue(issue_id, ESCALATION_TRIGGER, event_id)


def escalate_due(session_scope: SessionScope, now: dt.datetime) -> list[tuple[int, str]]:
    """Take every due step, each error in its own transaction (one that cannot escalate does not hold up the
    others); (error id, page event id) of those taken, committed, so their pages can be enqueued."""
    with session_scope() as session:
        due = [step.issue_id for step in due_steps(session, now)]
    done: list[tuple[int, str]] = []
    for issue_id in due:
        try:
            with session_scope() as session:
                escalation = take_step(session, issue_id, now)
                event_id = page_event_id(escalation) if escalation is not None else None
        except EscalationError as exc:  # nobody at that level right now: tried again next minute
            log.warning("escalation chain for error %s: %s", issue_id, exc)
            continue
        if event_id is not None:  # committed: safe to page about
            done.append((issue_id, event_id))
    if done:
        log.info("escalation chains escalated %d error(s)", len(done))
    return done
