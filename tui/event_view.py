"""An event payload (Sentry's event schema) as text for the detail pane: exceptions, frames, breadcrumbs, context."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

MAX_BREADCRUMBS = 30
MAX_VALUE = 300  # characters of one header, variable or context value shown


@dataclass(frozen=True)
class FrameGroup:
    """One in-app frame, or a run of library frames folded into one line until expanded."""

    frames: list[dict[str, Any]]
    in_app: bool

    def title(self) -> Text:
        if not self.in_app and len(self.frames) > 1:
            return Text(f"… {len(self.frames)} library frames", "dim")
        return frame_title(self.frames[0])

    def body(self) -> Text:
        if not self.in_app and len(self.frames) > 1:
            return Text("\n").join(frame_title(frame) for frame in self.frames)
        return frame_context(self.frames[0])


def exceptions(payload: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The exception chain, main exception first (the payload holds it last)."""
    values = ((payload or {}).get("exception") or {}).get("values") or []
    return [v for v in reversed(values) if isinstance(v, dict)]


def exception_heading(value: Mapping[str, Any]) -> Text:
    text = Text()
    text.append(str(value.get("type") or "Error"), "bold")
    if value.get("value"):
        text.append(f": {value['value']}")
    mechanism = value.get("mechanism") or {}
    if isinstance(mechanism, dict) and mechanism.get("handled") is False:
        text.append("  (unhandled)", "bold red")
    return text


def frame_groups(value: Mapping[str, Any]) -> list[FrameGroup]:
    """Frames most recent call first; consecutive library frames folded together."""
    frames = ((value.get("stacktrace") or {}).get("frames")) or []
    groups: list[FrameGroup] = []
    for frame in reversed([f for f in frames if isinstance(f, dict)]):
        in_app = frame.get("in_app") is True
        if groups and not in_app and not groups[-1].in_app:
            groups[-1].frames.append(frame)
        else:
            groups.append(FrameGroup([frame], in_app))
    return groups


def frame_title(frame: Mapping[str, Any]) -> Text:
    where = frame.get("filename") or frame.get("abs_path") or frame.get("module") or "?"
    text = Text()
    # "app" marks the service's own code in words too, for terminals without colour.
    text.append(str(where), "bold" if frame.get("in_app") else "dim")
    if frame.get("lineno") is not None:
        text.append(f":{frame['lineno']}", "bold" if frame.get("in_app") else "dim")
    if frame.get("function"):
        text.append(" in ", "dim")
        text.append(str(frame["function"]), "bold cyan" if frame.get("in_app") else "dim")
    if frame.get("in_app"):
        text.append("  app", "bold green")
    return text


def frame_context(frame: Mapping[str, Any]) -> Text:
    """The source lines around the frame's line, numbered, the line itself marked; then its variables."""
    line = frame.get("context_line")
    pre = [str(x) for x in frame.get("pre_context") or []]
    post = [str(x) for x in frame.get("post_context") or []]
    lineno = frame.get("lineno")
    out = Text()
    if line is None and not pre and not post:
        out.append("(no source context was sent for this frame)", "dim")
    else:
        first = (lineno - len(pre)) if isinstance(lineno, int) else None
        lines = [*pre, str(line or ""), *post]
        width = len(str((first or 0) + len(lines)))
        for i, source in enumerate(lines):
            number = f"{first + i:>{width}}" if first is not None else " " * width
            current = i == len(pre)
            if out:
                out.append("\n")
            out.append(f"{'→' if current else ' '} {number} │ ", "bold" if current else "dim")
            out.append(source.rstrip(), "reverse" if current else "")
    variables = frame.get("vars")
    if isinstance(variables, dict) and variables:
        out.append("\nvariables:", "bold")
        for name, value in list(variables.items())[:20]:
            out.append(f"\n  {name} = {short(value)}")
    return out


def short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def breadcrumbs(payload: Mapping[str, Any] | None) -> Text:
    raw = (payload or {}).get("breadcrumbs")
    values = raw.get("values") if isinstance(raw, dict) else raw
    crumbs = [c for c in (values or []) if isinstance(c, dict)][-MAX_BREADCRUMBS:]
    if not crumbs:
        return Text("(none)", "dim")
    out = Text()
    drift = clock_drift_note(payload)
    if drift:
        out.append(drift, "italic dim")
    for crumb in crumbs:
        if out:
            out.append("\n")
        out.append(_crumb_time(crumb.get("timestamp")), "dim")
        out.append(f" {crumb.get('category') or crumb.get('type') or '-'!s:<12.12} ", "cyan")
        level = crumb.get("level")
        message = crumb.get("message") or _crumb_data(crumb.get("data"))
        out.append(str(message), "bold red" if level in ("error", "fatal") else "")
    return out


def clock_drift_note(payload: Mapping[str, Any] | None) -> str | None:
    """What the collector did about a sender's wrong clock (its `clock_drift` note), in words, or None."""
    errors = (payload or {}).get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and error.get("type") == "clock_drift":
            try:
                drift = (_utc(error["server_time"]) - _utc(error["sdk_time"])).total_seconds()
            except (KeyError, TypeError, ValueError, AttributeError):  # not two aware RFC 3339 times
                return None
            minutes = round(abs(drift) / 60)
            way = "behind" if drift > 0 else "ahead"
            return f"times corrected: the sender's clock was {minutes // 60}h {minutes % 60:02d}m {way}"
    return None


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _crumb_time(value: Any) -> str:
    try:
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%H:%M:%S")
        if isinstance(value, str):
            return _utc(value).astimezone(dt.UTC).strftime("%H:%M:%S")
    except (ValueError, OverflowError, OSError):
        pass
    return "--:--:--"


def _crumb_data(data: Any) -> str:
    if isinstance(data, dict):
        if "url" in data:
            return " ".join(str(data[k]) for k in ("method", "url", "status_code") if data.get(k) is not None)
        return short(data)
    return ""


def key_values(pairs: Iterable[tuple[str, Any]]) -> Text:
    rows = [(k, v) for k, v in pairs if v not in (None, "", [], {})]
    if not rows:
        return Text("(none)", "dim")
    width = min(18, max(len(k) for k, _ in rows))
    out = Text()
    for key, value in rows:
        if out:
            out.append("\n")
        out.append(f"{key:<{width}} ", "bold")
        out.append(short(value))
    return out


def request_text(payload: Mapping[str, Any] | None) -> Text:
    request = (payload or {}).get("request") or {}
    if not isinstance(request, dict) or not request:
        return Text("(no request)", "dim")
    pairs: list[tuple[str, Any]] = [("method", request.get("method")), ("url", request.get("url"))]
    pairs.append(("query", request.get("query_string")))
    headers = request.get("headers") or {}
    items = headers.items() if isinstance(headers, dict) else (h for h in headers if isinstance(h, list | tuple))
    pairs += [(f"header {k}", v) for k, v in items]
    pairs.append(("data", request.get("data")))
    return key_values(pairs)


def user_text(payload: Mapping[str, Any] | None) -> Text:
    user = (payload or {}).get("user") or {}
    if not isinstance(user, dict) or not user:
        return Text("(no user)", "dim")
    return key_values(user.items())


def contexts_text(payload: Mapping[str, Any] | None) -> Text:
    contexts = (payload or {}).get("contexts") or {}
    if not isinstance(contexts, dict) or not contexts:
        return Text("(no contexts)", "dim")
    pairs = []
    for name, context in contexts.items():
        if isinstance(context, dict):
            summary = " ".join(str(context[k]) for k in ("name", "version", "model", "family") if context.get(k))
            pairs.append((name, summary or short(context)))
        else:
            pairs.append((name, context))
    return key_values(pairs)
