"""What a summary says (a maintenance window's, the daily one): rendered once when it is recorded, kept on the
notification, and sent as written by e-mail (plain text and HTML) or Slack (Block Kit)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Channel, NotificationStatus
from db.models import Notification
from tasks.messages import AlertMessage

# The payload key that tells a summary from an alert (whose payload is an AlertMessage's fields).
DIGEST_KEY = "digest"
# Slack takes 50 blocks a message: the header, the intro, this many sections and a note of what was left out.
SLACK_SECTIONS = 47


@dataclass(frozen=True)
class DigestMessage:
    kind: str  # "maintenance_summary" or "daily_summary"
    subject: str
    text: str
    html: str
    # The Slack webhook body: a `text` fallback and the Block Kit `blocks`.
    slack: dict[str, Any]

    def to_payload(self) -> dict[str, Any]:
        return {DIGEST_KEY: dataclasses.asdict(self)}


def message_from_payload(payload: Mapping[str, Any]) -> AlertMessage | DigestMessage:
    """The message a notification holds: a summary, or else an alert."""
    digest = payload.get(DIGEST_KEY)
    if isinstance(digest, Mapping):
        return DigestMessage(**{f.name: digest[f.name] for f in dataclasses.fields(DigestMessage)})
    return AlertMessage.from_payload(payload)


def slack_escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup (links, mentions); everything else is shown as written.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Section:
    heading: str
    lines: Sequence[str]
    # Shown when `lines` is empty, e.g. "none".
    empty: str = "none"


def render(kind: str, subject: str, intro: Sequence[str], sections: Sequence[Section]) -> DigestMessage:
    """One summary in its three forms: plain text, HTML and Slack blocks, from the same sections."""
    text = [subject, "=" * min(len(subject), 72), "", *intro]
    for section in sections:
        text += ["", section.heading, *(f"  - {line}" for line in section.lines or [section.empty])]
    esc = html.escape
    body = "".join(f"<p>{esc(line)}</p>" for line in intro)
    for section in sections:
        items = "".join(f"<li>{esc(line)}</li>" for line in section.lines) or f"<li><em>{esc(section.empty)}</em></li>"
        body += f"<h3>{esc(section.heading)}</h3><ul>{items}</ul>"
    page = f'<!DOCTYPE html><html><body style="font-family:sans-serif"><h2>{esc(subject)}</h2>{body}</body></html>'
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": cut(subject, 150)}}]
    if intro:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(slack_escape("\n".join(intro)), 3000)}}
        )
    for section in sections[:SLACK_SECTIONS]:
        lines = [f"• {slack_escape(line)}" for line in section.lines] or [f"_{slack_escape(section.empty)}_"]
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": cut(f"*{slack_escape(section.heading)}*\n" + "\n".join(lines), 3000),
                },
            }
        )
    if len(sections) > SLACK_SECTIONS:
        left = f"{len(sections) - SLACK_SECTIONS} more section(s) in the e-mail version"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": left}]})
    return DigestMessage(
        kind=kind,
        subject=subject,
        text="\n".join(text) + "\n",
        html=page,
        slack={"text": slack_escape(subject), "blocks": blocks},
    )


def digest_row(
    *,
    key: str,
    kind: str,
    channel: Channel,
    target: str,
    message: DigestMessage,
    max_attempts: int,
    now: dt.datetime,
    project_id: int | None = None,
    developer_id: int | None = None,
) -> dict[str, Any]:
    """A notification row carrying a summary, due now; `key` makes it once-only."""
    return {
        "idempotency_key": key,
        "issue_id": None,
        "project_id": project_id,
        "developer_id": developer_id,
        "channel": channel,
        "target": target,
        "trigger": kind,
        "status": NotificationStatus.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "next_attempt_at": now,
        "last_error": None,
        "payload": message.to_payload(),
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
