"""The detail pane's header: what the error is, how big, who has it, where its escalation stands and goes next."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from rich.text import Text

from tui.format import ago, clock, compact_number, severity_text, sparkline, until
from tui.models import ErrorDetail, ErrorSummary, EventDetail, NextEscalation


@dataclass(frozen=True)
class EventPosition:
    """Which of the error's recent events is shown (0: the newest)."""

    index: int
    count: int
    event: EventDetail | None


def header_text(
    error: ErrorSummary, detail: ErrorDetail | None, position: EventPosition | None, now: dt.datetime
) -> Text:
    """The header for `error` (a summary from the queue until `detail`, the full answer, has come)."""
    text = Text()
    text.append(f"#{error.id} ", "dim")
    text.append(error.title, "bold")
    if error.culprit:
        text.append(f"\n{error.culprit}", "italic")
    text.append("\n")
    text.append_text(severity_text(error.severity))
    text.append(f"  {error.status}" + (f"/{error.substatus}" if error.substatus else ""))
    flags = " ".join(error.flags())
    if flags:
        text.append(f"  [{flags}]", "bold")
    text.append(f"  {error.service}")
    if error.environment:
        text.append(f" · {error.environment}")
    text.append(f"\n{compact_number(error.times_seen)} events · {compact_number(error.users_affected)} users")
    text.append(f" · first {ago(error.first_seen, now)} · last {ago(error.last_seen, now)}")
    if error.first_release or error.last_release:
        text.append(f" · releases {error.first_release or '?'} → {error.last_release or '?'}")
    text.append("\nassignee: ")
    text.append(error.assignee.name if error.assignee else "nobody", "bold" if error.assignee else "dim")
    if error.acknowledged_at:
        text.append(f" · acknowledged by {error.acknowledged_by or '?'} {ago(error.acknowledged_at, now)}")
    next_step = detail.next_escalation if detail is not None else None
    if error.escalation_level or next_step is not None:
        text.append_text(escalation_text(error.escalation_level, next_step, now))
    if detail is not None and detail.histogram_24h is not None:
        text.append("\n24h ")
        text.append(sparkline(detail.histogram_24h.counts, 24))
        if detail.histogram_30d is not None:
            text.append("  30d ")
            text.append(sparkline(detail.histogram_30d.counts, 30))
    if position is not None:
        line = f"event {position.index + 1} of {position.count}"
        if position.event is not None:
            line += f" · {position.event.event_id[:12]} · {clock(position.event.received_at)}"
            if position.event.release:
                line += f" · release {position.event.release}"
        text.append(f"\n{line}  (n older · p newer)", "dim")
    return text


def escalation_text(level: int, next_step: NextEscalation | None, now: dt.datetime) -> Text:
    """E.g. "escalation: level 1 · next: level 2 in 12 min if still unacknowledged", then the step's reason."""
    text = Text("\nescalation: ")
    text.append(f"level {level}" if level else "none yet", "bold" if level else "dim")
    if next_step is None:
        return text
    text.append(" · next: ")
    text.append(f"level {next_step.level} {due_text(next_step.due_at, now)}", "bold")
    text.append(f" if still {next_step.condition}")
    text.append(f"\n  {next_step.reason}", "dim")
    return text


def due_text(due_at: dt.datetime, now: dt.datetime) -> str:
    """ "in 12 min", "in 3h"; "now" once due (the chain is checked every minute)."""
    seconds = (due_at - now).total_seconds()
    if seconds <= 0:
        return "now (at the next check)"
    minutes = math.ceil(seconds / 60)
    return f"in {minutes} min" if minutes < 120 else f"in {until(due_at, now)}"
