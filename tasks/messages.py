"""What an alert says: built once from the issue and its event, kept on the notification, rendered per channel."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from db.models import Event, Issue

TRIGGER_LABELS = {
    "new": "New error",
    "regression": "Regression",
    "severity": "Severity raised",
    "snooze_ended": "Snooze ended",
    "threshold": "Threshold exceeded",
    "escalation": "Escalated",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
}
MAX_FRAMES = 6
_FRAME_LINE = 200  # characters of one source line kept in a frame


@dataclass(frozen=True)
class AlertMessage:
    issue_id: int
    trigger: str
    title: str
    severity: str
    service: str
    times_seen: int
    users_affected: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    url: str
    culprit: str | None = None
    level: str | None = None
    environment: str | None = None
    release: str | None = None
    event_id: str | None = None
    # In-app frames of the main exception, most recent call last: "path/file.py:42 in func" + optional source line.
    frames: tuple[tuple[str, str | None], ...] = ()
    # Why this page, when the trigger alone does not say: "Level 2, from Pia to Sam: unacknowledged for 15 min".
    note: str | None = None

    @property
    def trigger_label(self) -> str:
        return TRIGGER_LABELS.get(self.trigger, self.trigger.replace("_", " ").capitalize())

    @property
    def tui_command(self) -> str:
        return f"errlog-tui --open {self.issue_id}"

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON, as Notification.payload stores it."""
        data = dataclasses.asdict(self)
        data["first_seen"] = self.first_seen.isoformat()
        data["last_seen"] = self.last_seen.isoformat()
        data["frames"] = [list(frame) for frame in self.frames]
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> AlertMessage:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["first_seen"] = dt.datetime.fromisoformat(values["first_seen"])
        values["last_seen"] = dt.datetime.fromisoformat(values["last_seen"])
        values["frames"] = tuple((str(f[0]), f[1]) for f in values.get("frames") or ())
        return cls(**values)


def issue_url(public_url: str, issue_id: int) -> str:
    """Where the error is read over the REST API (the TUI command is the human way in)."""
    return f"{public_url.rstrip('/')}/api/error-logging/errors/{issue_id}/"


def message_for(
    issue: Issue, service: str, event: Event | None, trigger: str, public_url: str, note: str | None = None
) -> AlertMessage:
    """The alert about `issue`, with the stack of `event` (the one that caused it, else the latest)."""
    return AlertMessage(
        issue_id=issue.id,
        trigger=trigger,
        title=issue.title,
        culprit=issue.culprit,
        severity=str(issue.severity),
        level=issue.level,
        service=service,
        environment=(event.environment if event is not None else None) or issue.last_environment,
        release=(event.release if event is not None else None) or issue.last_release,
        times_seen=int(issue.times_seen or 0),
        users_affected=int(issue.users_affected or 0),
        first_seen=issue.first_seen,
        last_seen=issue.last_seen,
        url=issue_url(public_url, issue.id),
        event_id=event.event_id if event is not None else None,
        frames=in_app_frames(event.payload if event is not None else None),
        note=note,
    )


def in_app_frames(payload: Mapping[str, Any] | None, limit: int = MAX_FRAMES) -> tuple[tuple[str, str | None], ...]:
    """The last `limit` frames of the main exception (the last value: Sentry orders them oldest first), keeping only
    in-app frames when the SDK marked any. Each is ("file:line in function", source line or None)."""
    try:
        values = payload["exception"]["values"] if payload else None
        frames = values[-1]["stacktrace"]["frames"] if values else None
    except (KeyError, TypeError, IndexError):
        return ()
    if not isinstance(frames, list):
        return ()
    frames = [f for f in frames if isinstance(f, Mapping)]
    marked = [f for f in frames if f.get("in_app") is True]
    chosen = marked or [f for f in frames if f.get("in_app") is not False] or frames
    return tuple(_frame(f) for f in chosen[-limit:])


def _frame(frame: Mapping[str, Any]) -> tuple[str, str | None]:
    where = str(frame.get("filename") or frame.get("abs_path") or frame.get("module") or "?")
    if frame.get("lineno") is not None:
        where += f":{frame['lineno']}"
    if frame.get("function"):
        where += f" in {frame['function']}"
    line = frame.get("context_line")
    line = str(line).strip()[:_FRAME_LINE] if line else None
    return where, line or None


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def facts(message: AlertMessage) -> list[tuple[str, str]]:
    """The label/value pairs every long form shows."""
    rows = [("Why", message.note)] if message.note else []
    rows += [
        ("Severity", message.severity.upper()),
        ("Service", message.service),
        ("Environment", message.environment or "-"),
        ("Events", f"{message.times_seen:,}"),
        ("Users affected", f"{message.users_affected:,}"),
        ("First seen", _when(message.first_seen)),
        ("Last seen", _when(message.last_seen)),
    ]
    if message.release:
        rows.append(("Release", message.release))
    if message.culprit:
        rows.append(("Culprit", message.culprit))
    return rows


def subject(message: AlertMessage) -> str:
    """One line, e.g. "[CRITICAL] checkout: KeyError: 'sku' (New error, production)"."""
    context = message.trigger_label + (f", {message.environment}" if message.environment else "")
    return _single_line(f"[{message.severity.upper()}] {message.service}: {message.title} ({context})", 250)


def plain_text(message: AlertMessage) -> str:
    lines = [f"{message.trigger_label}: {message.title}", ""]
    width = max(len(label) for label, _ in facts(message))
    lines += [f"{label.ljust(width)}  {value}" for label, value in facts(message)]
    if message.frames:
        lines += ["", "Stack trace (in-app frames, most recent call last):"]
        for where, source in message.frames:
            lines.append(f"  {where}")
            if source:
                lines.append(f"      {source}")
    lines += [
        "",
        f"Error id: {message.issue_id}",
        f"Open it:  {message.tui_command}",
        f"API:      {message.url}",
    ]
    return "\n".join(lines) + "\n"


_SEVERITY_COLOURS = {"critical": "#b71c1c", "high": "#e65100", "medium": "#f9a825", "low": "#607d8b"}


def severity_colour(severity: str) -> str:
    return _SEVERITY_COLOURS.get(severity, "#607d8b")


def html_text(message: AlertMessage) -> str:
    esc = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{esc(label)}</th><td>{esc(value)}</td></tr>'
        for label, value in facts(message)
    )
    stack = ""
    if message.frames:
        trace = "\n".join(f"{where}\n    {source}" if source else where for where, source in message.frames)
        stack = (
            "<h3>Stack trace <small>(in-app frames, most recent call last)</small></h3>"
            f'<pre style="background:#f5f5f5;padding:8px">{esc(trace)}</pre>'
        )
    colour = severity_colour(message.severity)
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f'<p style="border-left:6px solid {colour};padding-left:8px">'
        f"<strong>{esc(message.trigger_label)}</strong><br>"
        f'<span style="font-size:1.2em">{esc(message.title)}</span></p>'
        f"<table>{rows}</table>{stack}"
        f"<p>Error id: <strong>{message.issue_id}</strong><br>"
        f"Open it: <code>{esc(message.tui_command)}</code><br>"
        f'API: <a href="{esc(message.url, quote=True)}">{esc(message.url)}</a></p>'
        "</body></html>"
    )


def short_text(message: AlertMessage, limit: int = 160) -> str:
    """A push or SMS body: "CRITICAL checkout (production): KeyError: 'sku' #42 errlog-tui --open 42", the
    title shortened so the whole fits `limit` characters."""
    env = f" ({message.environment})" if message.environment else ""
    # An escalated error says so first: the new owner must see it is theirs now, not a copy of someone's page.
    escalated = f"{message.trigger_label}: " if message.trigger == "escalation" else ""
    head = f"{escalated}{message.severity.upper()} {message.service}{env}: "
    tail = f" #{message.issue_id} {message.tui_command}"
    room = limit - len(head) - len(tail)
    if room < 40:  # the title matters more than the command: drop it, keep the id
        tail = f" #{message.issue_id}"
        room = limit - len(head) - len(tail)
    return _single_line(head + _single_line(message.title, max(room, 4)) + tail, limit)


def _single_line(text: str, limit: int) -> str:
    # "..." rather than an ellipsis character, which would push an SMS out of the GSM alphabet.
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."
