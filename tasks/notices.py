"""What a message to a person says when it is not an alert about an error: a shift-start notice, a maintenance
window's summary, the daily summary. One type for all of them, kept on the notification as plain words (a title,
an intro, titled sections of lines) and rendered by each channel module that carries it: e-mail as text and HTML,
Slack as blocks, ntfy and Pushover as a title and a text. A new kind of notice needs no channel code."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel, NotificationStatus
from db.models import Notification

# The payload key that tells a notice from an alert (whose payload is an AlertMessage's fields).
NOTICE_KEY = "notice"


@dataclass(frozen=True)
class Section:
    heading: str
    lines: Sequence[str]
    # Shown when `lines` is empty, e.g. "none".
    empty: str = "none"


@dataclass(frozen=True)
class Notice:
    kind: str  # what it is about, also the notification's trigger: "oncall_shift", "daily_summary", ...
    title: str  # the e-mail subject, the push title, the Slack header
    intro: Sequence[str]
    sections: Sequence[Section] = ()

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON, as Notification.payload stores it."""
        sections = [{"heading": s.heading, "lines": list(s.lines), "empty": s.empty} for s in self.sections]
        return {NOTICE_KEY: {"kind": self.kind, "title": self.title, "intro": list(self.intro), "sections": sections}}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notice:
        data = payload[NOTICE_KEY]
        return cls(
            kind=str(data["kind"]),
            title=str(data["title"]),
            intro=tuple(str(line) for line in data["intro"]),
            sections=tuple(
                Section(str(s["heading"]), tuple(str(line) for line in s["lines"]), str(s["empty"]))
                for s in data["sections"]
            ),
        )


def is_notice(payload: Mapping[str, Any]) -> bool:
    return isinstance(payload.get(NOTICE_KEY), Mapping)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def body_text(notice: Notice) -> str:
    """The notice below its title, as plain text: the intro, then each section's heading and its lines."""
    lines = list(notice.intro)
    for section in notice.sections:
        if lines:
            lines.append("")
        lines += [section.heading, *(f"  - {line}" for line in section.lines or [section.empty])]
    return "\n".join(lines) + "\n"


def plain_text(notice: Notice) -> str:
    """The whole notice as plain text, its title underlined."""
    return f"{notice.title}\n{'=' * min(len(notice.title), 72)}\n\n{body_text(notice)}"


def html_text(notice: Notice) -> str:
    esc = html.escape
    body = "".join(f"<p>{esc(line)}</p>" for line in notice.intro)
    for section in notice.sections:
        items = "".join(f"<li>{esc(line)}</li>" for line in section.lines) or f"<li><em>{esc(section.empty)}</em></li>"
        body += f"<h3>{esc(section.heading)}</h3><ul>{items}</ul>"
    return f'<!DOCTYPE html><html><body style="font-family:sans-serif"><h2>{esc(notice.title)}</h2>{body}</body></html>'


def notice_row(
    *,
    key: str,
    channel: Channel,
    target: str,
    notice: Notice,
    max_attempts: int,
    now: dt.datetime,
    project_id: int | None = None,
    developer_id: int | None = None,
    held: str | None = None,
) -> dict[str, Any]:
    """A notification row carrying `notice`, due now; `key` makes it once-only. When `held` says why (quiet hours),
    the row is kept unsent and visible instead."""
    return {
        "idempotency_key": key,
        "issue_id": None,
        "project_id": project_id,
        "developer_id": developer_id,
        "channel": channel,
        "target": target,
        "trigger": notice.kind,
        "status": NotificationStatus.SUPPRESSED if held else NotificationStatus.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "next_attempt_at": None if held else now,
        "last_error": held,
        "payload": notice.to_payload(),
        "created_at": now,
    }


def pending_ids(session: Session, keys: Sequence[str]) -> list[int]:
    """The rows of `keys` still waiting to be sent: new ones, and any a run that died before delivery left."""
    if not keys:
        return []
    return list(
        session.scalars(
            select(Notification.id)
            .where(Notification.idempotency_key.in_(keys), Notification.status == NotificationStatus.PENDING)
            .order_by(Notification.id)
        )
    )
