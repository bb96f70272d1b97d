"""An event's title and culprit as Sentry shows them (display only: changing them re-groups nothing)."""

from __future__ import annotations

from typing import Any

from collector.grouping.access import (
    JS_NO_SOURCE,
    as_text,
    exception_values,
    frames_of,
    is_synthetic,
    log_message,
    main_exception,
)

TITLE_MAX_LENGTH = 200
CULPRIT_MAX_LENGTH = 200  # Sentry's MAX_CULPRIT_LENGTH
TYPE_MAX_LENGTH = 128  # Sentry trims the exception type to this in the title
_NATIVE_PLATFORMS = frozenset({"objc", "cocoa", "native"})
_JS_PLATFORMS = frozenset({"javascript", "node"})


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "..." when cut (Sentry's truncatechars)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(event: dict[str, Any]) -> tuple[str, str | None]:
    """(title, culprit) of the event; the culprit is None when nothing points at a place in the code."""
    if not isinstance(event, dict):
        raise TypeError(f"an event must be a dict, not {type(event).__name__}")
    exception = main_exception(event)
    if exception is not None and _has_content(exception):
        title = _exception_title(event, exception)
        culprit = _explicit_culprit(event) or _exception_culprit(event) or _transaction(event) or _request_url(event)
    else:
        title = _message_title(event)
        culprit = (
            _explicit_culprit(event)
            or _transaction(event)
            or (as_text(event.get("logger")) or "").strip()
            or _stacktrace_culprit(_event_frames(event), as_text(event.get("platform")))
            or _request_url(event)
        )
    return truncate(title, TITLE_MAX_LENGTH), truncate(culprit, CULPRIT_MAX_LENGTH) if culprit else None


def _has_content(exception: dict[str, Any]) -> bool:
    return bool(as_text(exception.get("type")) or as_text(exception.get("value")) or frames_of(exception))


def _first_line(text: str) -> str:
    """The first line that has anything on it: a value starting with a newline should not title as "Type: "."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _exception_title(event: dict[str, Any], exception: dict[str, Any]) -> str:
    """Sentry's rule: "Type: first line of value", the type alone without a value, and for a synthetic
    exception (whose type means nothing) the function of the crashing frame; but a message that came with a
    synthetic stack (a JavaScript SDK's captureMessage) is titled by its text, which says what happened."""
    if is_synthetic(exception):
        return _message_title(event) if any(log_message(event)) else _crash_function(exception) or "<unknown>"
    type_name = truncate((as_text(exception.get("type")) or "").strip() or "Error", TYPE_MAX_LENGTH)
    value = exception.get("value")
    text = as_text(value)
    if text is None and value is not None and not isinstance(value, bool):
        text = str(value)
    first_line = _first_line(text or "")
    return f"{type_name}: {first_line}" if first_line else type_name


def _crash_function(exception: dict[str, Any]) -> str | None:
    for frame in reversed(frames_of(exception)):
        function = as_text(frame.get("function"))
        if function and function not in ("<redacted>", "<unknown>", "?"):
            return function
    return None


def _message_title(event: dict[str, Any]) -> str:
    template, formatted = log_message(event)
    return _first_line(formatted or template or "") or "<unlabeled event>"


def _frame_culprit(frame: dict[str, Any], platform: str | None) -> str:
    """Sentry's format: "module in function", "function(file)" for JavaScript, the function alone for native."""
    platform = as_text(frame.get("platform")) or platform
    function = as_text(frame.get("function")) or "?"
    if platform in _NATIVE_PLATFORMS:
        return function
    location = as_text(frame.get("module")) or as_text(frame.get("filename"))
    if not location:
        return ""
    if platform in _JS_PLATFORMS:
        # A built-in's frame (V8's `JSON.parse(<anonymous>)`) names no place in the page's code: the caller's does.
        return "" if location in JS_NO_SOURCE else f"{function}({location})"
    return f"{location} in {function}"


def _stacktrace_culprit(frames: list[dict[str, Any]], platform: str | None) -> str:
    """The most recent in-app frame that names a place, else the most recent frame that does."""
    fallback = ""
    for frame in reversed(frames):
        culprit = _frame_culprit(frame, platform)
        if frame.get("in_app") is True and culprit:
            return culprit
        fallback = fallback or culprit
    return fallback


def _exception_culprit(event: dict[str, Any]) -> str:
    # Sentry takes the last exception that has frames: the main one unless it came without a stacktrace.
    if is_synthetic(main_exception(event)):
        return ""
    with_frames = [value for value in exception_values(event) if frames_of(value)]
    if not with_frames:
        return ""
    return _stacktrace_culprit(frames_of(with_frames[-1]), as_text(event.get("platform")))


def _event_frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Frames attached to a message event: the top-level stacktrace, else the crashed or current thread's."""
    frames = frames_of(event)
    if frames:
        return frames
    threads = event.get("threads")
    values = threads.get("values") if isinstance(threads, dict) else None
    if isinstance(values, list):
        candidates = [thread for thread in values if isinstance(thread, dict) and frames_of(thread)]
        for flag in ("crashed", "current"):
            for thread in candidates:
                if thread.get(flag) is True:
                    return frames_of(thread)
    return []


def _explicit_culprit(event: dict[str, Any]) -> str:
    # Older SDKs still send `culprit`; Sentry shows it as sent.
    return (as_text(event.get("culprit")) or "").strip()


def _transaction(event: dict[str, Any]) -> str:
    return (as_text(event.get("transaction")) or "").strip()


def _request_url(event: dict[str, Any]) -> str:
    request = event.get("request")
    if not isinstance(request, dict):
        return ""
    return (as_text(request.get("url")) or "").strip()
