"""Tolerant readers for the parts of an event that grouping and titles look at: they coerce or skip, never raise."""

from __future__ import annotations

from typing import Any


def as_text(value: Any) -> str | None:
    """A usable string for `value`: strings as they are, numbers via str(), anything else (None, dicts) as None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def exception_values(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The exception values that are dicts, oldest first; the legacy list form of `exception` is accepted too."""
    exception = event.get("exception")
    if isinstance(exception, dict):
        values = exception.get("values")
    elif isinstance(exception, list):
        values = exception
    else:
        values = None
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, dict)]


def main_exception(event: dict[str, Any]) -> dict[str, Any] | None:
    """The exception the event is about: Sentry orders values oldest first, so the last one."""
    values = exception_values(event)
    return values[-1] if values else None


def frames_of(exception: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The stack frames of one exception (or stacktrace holder) that are dicts, oldest call first."""
    if not isinstance(exception, dict):
        return []
    stacktrace = exception.get("stacktrace")
    if not isinstance(stacktrace, dict):
        return []
    frames = stacktrace.get("frames")
    if not isinstance(frames, list):
        return []
    return [frame for frame in frames if isinstance(frame, dict)]


def is_synthetic(exception: dict[str, Any] | None) -> bool:
    """Whether the SDK marked the exception synthetic: its type then names no real error class."""
    if not isinstance(exception, dict):
        return False
    mechanism = exception.get("mechanism")
    return isinstance(mechanism, dict) and mechanism.get("synthetic") is True


def log_message(event: dict[str, Any]) -> tuple[str | None, str | None]:
    """(template, formatted) of the event's log message, from `message` (dict or plain string) or `logentry`."""
    for key in ("message", "logentry"):
        entry = event.get(key)
        if isinstance(entry, dict):
            template = as_text(entry.get("message"))
            formatted = as_text(entry.get("formatted"))
            if template or formatted:
                return template or None, formatted or None
        elif isinstance(entry, str) and entry:
            return None, entry
    return None, None


# Where JavaScript engines place frames that have no source of their own: V8's built-ins (`at JSON.parse
# (<anonymous>)`), Safari's native code, code run by eval.
JS_NO_SOURCE = frozenset({"<anonymous>", "[native code]", "native code", "eval code"})
